"""Fixtures for the metrics tests: real digit images on disk, tiny feature networks, a private feature cache.

The digits are scikit-learn's bundled `load_digits` (1,797 real 8x8 handwritten digits, nothing downloaded),
written as 16x16 PNGs. The tiny networks are random-weight conv nets saved as TorchScript and ONNX, so most
tests run in well under a second; only a few use the 87 MB Inception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """uint8 [1797, 16, 16] and labels [1797]: scikit-learn's real digits, 0-16 scaled to 0-255, upscaled 2x."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    return np.repeat(np.repeat(images, 2, axis=1), 2, axis=2), digits.target


def write_digits(root: Path, *, classes: tuple[int, ...] = (0, 1, 2), per_class: int = 30, offset: int = 0,
                 dual: bool = True, transform=None) -> Path:
    """Write digits of `classes` (the per_class images starting at `offset` of each) as PNGs under root/<digit>/."""
    images, labels = digit_images()
    for digit in classes:
        rows = np.flatnonzero(labels == digit)[offset:offset + per_class]
        folder = root / f"digit{digit}" if dual else root
        folder.mkdir(parents=True, exist_ok=True)
        for row in rows:
            image = Image.fromarray(images[row], mode="L")
            (transform(image) if transform else image).save(folder / f"d{digit}_{row:04d}.png")
    return root


class TinyFeatures(nn.Module):
    """float [N, 3, S, S] -> [N, 32, S/4, S/4] (spatial maps, so the loader's pooling is exercised)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.fixture(scope="session")
def tiny_torchscript(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nets") / "tiny.pt"
    torch.jit.save(torch.jit.script(TinyFeatures().eval()), str(path))
    return path


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nets") / "tiny.onnx"
    torch.onnx.export(TinyFeatures().eval(), (torch.zeros(1, 3, 32, 32),), str(path), input_names=["x"],
                      output_names=["f"], dynamic_axes={"x": {0: "n"}, "f": {0: "n"}}, dynamo=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """One BLAS thread, like torch's one thread in tests/conftest.py: on two shared cores, threaded numpy
    matrix products waited on each other (KID's kernels took 17 s with the default threads, 2 s with one)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own feature cache, so no test sees another's rows."""
    home = tmp_path / "home"
    monkeypatch.setenv("GANFACTORY_HOME", str(home))
    return home / "cache" / "features"


@pytest.fixture
def cli(capsys):
    """The command line in-process: (exit code, stdout, stderr)."""
    from ganfactory.cli import main

    def call(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call
