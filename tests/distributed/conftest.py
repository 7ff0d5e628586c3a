"""Fixtures for the multi-process tests: tiny image folders, and the operators run under torchrun (gloo, CPU).

Each torchrun run goes through rank_probe.py, which runs the real command line in every rank and writes a
sha256 per part of every rank's final training state to PROBE/rank<R>.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PROBE = Path(__file__).with_name("rank_probe.py")

# 16 px, the 'small' preset at a fraction of its width, batch 4 (2 per rank): 0.1 kimg = 25 steps, a tick and a
# checkpoint every 10 steps (the last tick is partial).
STYLEGAN_FLAGS = ["--resolution", "16", "--cfg", "small", "--cbase", "256", "--cmax", "32", "--batch-size", "4",
                  "--total-kimg", "0.1", "--tick-kimg", "0.04", "--generate-num", "5", "--min-images", "10",
                  "--device", "cpu"]
CYCLEGAN_FLAGS = ["--image-height", "16", "--image-width", "16", "--max-epoch", "3", "--n-blocks", "1",
                  "--base-channels", "4", "--save-frequency", "1", "--batch-size", "2", "--min-images", "1",
                  "--device", "cpu"]


def _noise_image(seed: int, size: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


@pytest.fixture(scope="session")
def two_classes(tmp_path_factory) -> Path:
    """DATA/<class>/*.png: two classes of ten 16x16 images."""
    root = tmp_path_factory.mktemp("stylegan_data") / "data"
    for offset, name in enumerate(("cats", "dogs")):
        (root / name).mkdir(parents=True)
        for index in range(10):
            _noise_image(offset * 100 + index, 16).save(root / name / f"{index}.png")
    return root


@pytest.fixture(scope="session")
def domains(tmp_path_factory) -> tuple[Path, Path]:
    """SOURCE and TARGET: four 18x18 images each."""
    root = tmp_path_factory.mktemp("cyclegan_data")
    for offset, name in enumerate(("horses", "zebras")):
        (root / name).mkdir()
        for index in range(4):
            _noise_image(1000 + offset * 100 + index, 18).save(root / name / f"{index}.png")
    return root / "horses", root / "zebras"


def subprocess_env(**extra: str) -> dict[str, str]:
    """One thread per process (the test machine has two cores), no debug flag leaking in from the caller."""
    env = {k: v for k, v in os.environ.items() if k != "GANFACTORY_DEBUG"}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


@pytest.fixture
def torchrun(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """torchrun --standalone --nproc_per_node 2 [options] rank_probe.py PROBE ganfactory-args...; PROBE is
    tmp_path/probe."""

    def launch(*args: object, options: tuple[str, ...] = (), env: dict[str, str] | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *options,
                str(PROBE), str(tmp_path / "probe"), *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=subprocess_env(**(env or {})))

    return launch


def rank_digests(probe: Path) -> list[dict[str, str]]:
    return [json.loads((probe / f"rank{rank}.json").read_text()) for rank in range(2)]


def manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "output_0.manifest").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def stats_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "logs" / "stats.jsonl").read_text().splitlines() if line.strip()]
