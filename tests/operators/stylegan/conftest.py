"""Fixtures and helpers for the StyleGAN operator tests: small synthetic datasets made with PIL, tiny configs,
one trained run shared by several modules, tree hashes and the CLI as a subprocess.

tests/operators/stylegan is a package, so its test modules import the helpers with `from .conftest import ...`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import StyleGANResult, run_stylegan
from run_outputs import assert_one_line_error, image_files, manifest_lines, tree_digest  # noqa: F401 (re-exported to the tests)

# 16 px, the 'small' preset at a fraction of its width, batch 4: a training step takes tens of milliseconds.
# 0.1 kimg = 25 steps; a tick (samples, stats line, checkpoint) every 10 steps, so the last tick is partial.
TINY: dict[str, Any] = dict(resolution=16, cfg="small", cbase=256, cmax=32, batch_size=4, total_kimg=0.1,
                            tick_kimg=0.04, generate_num=5, min_images=10, device="cpu", precision="fp32",
                            keep_checkpoints=10)
TINY_FLAGS = ["--resolution", "16", "--cfg", "small", "--cbase", "256", "--cmax", "32", "--batch-size", "4",
              "--tick-kimg", "0.04", "--min-images", "10", "--device", "cpu"]
CLASSES = ("cats", "dogs")
PER_CLASS = 12


def tiny_config(**overrides: Any) -> StyleGANConfig:
    return StyleGANConfig(**{**TINY, **overrides})


def _image(seed: int, kind: str, size: int = 20) -> Image.Image:
    """'cats': warm horizontal stripes, 'dogs': cool checks, 'gray': a gray ramp; the seed shifts colour and phase."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    if kind == "gray":
        return Image.fromarray(((x * 11 + y * 5 + seed * 17) % 256).astype(np.uint8), mode="L")
    if kind == "cats":
        pattern = (y + seed) % 6 < 3
        colour, other = (220, rng.integers(60, 140), 40), (120, 30, rng.integers(0, 60))
    else:
        pattern = ((x + seed) // 4 + y // 5) % 2 == 0
        colour, other = (40, rng.integers(100, 180), 230), (10, 10, rng.integers(90, 160))
    return Image.fromarray(np.where(pattern[..., None], np.array(colour), np.array(other)).astype(np.uint8))


def write_images(folder: Path, kind: str, count: int, *, first_seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        _image(first_seed + index, kind).save(folder / f"{kind}{first_seed + index:03d}.png")
    return folder


@pytest.fixture(scope="session")
def two_classes(tmp_path_factory) -> Path:
    """DATA/cats, DATA/dogs: 12 images each, 20x20 RGB PNGs; read-only for every test."""
    root = tmp_path_factory.mktemp("two_classes") / "pets"
    for name in CLASSES:
        write_images(root / name, name, PER_CLASS)
    return root


@pytest.fixture(scope="session")
def gray_single(tmp_path_factory) -> Path:
    """One level, 12 grayscale ('L') PNGs: one class named after the folder."""
    return write_images(tmp_path_factory.mktemp("gray") / "ramps", "gray", PER_CLASS)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread: at 16 px every op is too small to split, and on a shared 2-core machine OpenMP
    threads spin-waiting on a preempted sibling stretch single steps. Every run that a test compares bitwise
    with another uses it, so both see the same reduction order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train(data: Path | None, out: Path, **overrides: Any) -> StyleGANResult:
    with one_thread():
        return run_stylegan(data, out, tiny_config(**overrides), progress_bar=False)


@pytest.fixture(scope="session")
def trained(two_classes, tmp_path_factory) -> Path:
    """A finished conditional run (25 steps, 5 images per class), shared by the operator and export tests.
    Tests may add to it only what running the same command again would (nothing)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    result = train(two_classes, out)
    assert result.images_written == 2 * TINY["generate_num"]
    return out


def load_ckpt(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def latest_ckpt(run: Path) -> Path:
    return run / "model" / (run / "model" / "latest").read_text().strip()


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.int16)


CLI_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def cli_args(*args: object) -> list[str]:
    return [sys.executable, "-m", "ganfactory", *map(str, args)]


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """cli('stylegan', DATA, OUT, ...) runs `python -m ganfactory ...` as a subprocess (one thread, as above)."""

    def run(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(cli_args(*args), capture_output=True, text=True, timeout=timeout, env=CLI_ENV)
    return run


class PooledFeatures(torch.nn.Module):
    """A random-weight feature network that pools to 8x8 first, so the 299 px input costs almost nothing."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(8), torch.nn.Conv2d(3, 16, 3), torch.nn.Tanh(),
                                        torch.nn.Flatten(), torch.nn.Linear(16 * 36, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.fixture(scope="session")
def pooled_features(tmp_path_factory) -> Path:
    """PooledFeatures saved as TorchScript, for --features."""
    path = tmp_path_factory.mktemp("features") / "pooled.pt"
    torch.jit.save(torch.jit.script(PooledFeatures().eval()), str(path))
    return path
