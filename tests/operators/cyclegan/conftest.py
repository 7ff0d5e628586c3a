"""Fixtures and helpers for the CycleGAN operator tests: two small synthetic domains, tiny configs, tree hashes,
the CLI. tests/operators/cyclegan is a package, so its test modules import the helpers with
`from .conftest import ...`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.signals import StopRequest
from ganfactory.operators.cyclegan.config import CycleGANConfig
from run_outputs import assert_one_line_error, image_files, manifest_lines, tree_digest  # noqa: F401 (re-exported to the tests)

# 16x32 (non-square), one residual block, 4 base channels: a training step takes milliseconds on a CPU.
TINY = dict(image_height=16, image_width=32, n_blocks=1, base_channels=4, batch_size=2, max_epoch=2,
            save_frequency=1, device="cpu", precision="fp32", min_images=1)
TINY_FLAGS = ["--image-height", "16", "--image-width", "32", "--n-blocks", "1", "--base-channels", "4",
              "--batch-size", "2", "--max-epoch", "2", "--save-frequency", "1", "--device", "cpu"]


def _image(seed: int, domain: str, size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Domain A: warm horizontal stripes; domain B: cool vertical checks. Each seed shifts colour and phase."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    if domain == "A":
        pattern = (y + seed) % 6 < 3
        colour, other = (220, rng.integers(60, 140), 40), (120, 30, rng.integers(0, 60))
    else:
        pattern = ((x + seed) // 4 + y // 5) % 2 == 0
        colour, other = (40, rng.integers(100, 180), 230), (10, 10, rng.integers(90, 160))
    pixels = np.where(pattern[..., None], np.array(colour), np.array(other)).astype(np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="session")
def domains(tmp_path_factory) -> tuple[Path, Path]:
    """SOURCE (4 images) and TARGET (3 images), 40x20 PNGs, shared read-only by every test."""
    root = tmp_path_factory.mktemp("domains")
    for name, domain, count in (("horses", "A", 4), ("zebras", "B", 3)):
        (root / name).mkdir()
        for index in range(count):
            _image(index, domain).save(root / name / f"{domain.lower()}{index}.png")
    return root / "horses", root / "zebras"


def tiny_config(**overrides: object) -> CycleGANConfig:
    """A CycleGANConfig on the tiny defaults above."""
    return CycleGANConfig(**{**TINY, **overrides})


@pytest.fixture(scope="module")
def single_thread():
    """One intra-op thread for the module (tests/conftest.py's 2 restored after).

    At 16x32 px with 4 channels every op is too small to split: one thread runs a training step ~20x
    faster than two, and on a shared 2-core machine OpenMP threads spin-waiting on a preempted sibling
    stretched single steps to seconds.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """cli('cyclegan', SOURCE, ...) runs `python -m ganfactory ...` as a subprocess (one thread, as above)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run(*args: object) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ganfactory", *map(str, args)], capture_output=True,
                              text=True, timeout=120, env=env)
    return run



def stop_after_steps(monkeypatch: pytest.MonkeyPatch, trainable: type, steps: int) -> StopRequest:
    """A StopRequest that `trainable`'s train_step sets after step `steps` (as a SIGTERM arriving then would);
    monkeypatch.undo() restores the real train_step."""
    stop, train_step = StopRequest(), trainable.train_step

    def step_then_stop(self) -> dict[str, float]:
        values = train_step(self)
        if self.steps == steps:
            stop.set("test")
        return values

    monkeypatch.setattr(trainable, "train_step", step_then_stop)
    return stop


def assert_onnx_translates_like(path: Path, G: torch.nn.Module) -> None:
    """The exported generator at `path` gives G's translation (within 1e-3) at two batch sizes and image sizes."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for shape in ((1, 3, 16, 32), (3, 3, 32, 48)):
        images = torch.rand(shape, generator=torch.Generator().manual_seed(shape[0])) * 2 - 1
        with torch.no_grad():
            expected = G(images).numpy()
        got = session.run(["translated"], {"image": images.numpy()})[0]
        assert got.shape == shape and np.abs(got - expected).max() < 1e-3
