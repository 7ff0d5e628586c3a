"""Fixtures for the DatasetGAN tests: one tiny StyleGAN run (16 px, one training step: a real checkpoint of
this project), annotated folders with masks written by script, and tiny interpreter configs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.driver import run_operator
from ganfactory.engine.precision import resolve_device
from ganfactory.operators.datasetgan.classes import template_classes, write_classes
from ganfactory.operators.datasetgan.config import DatasetGANConfig, SampleOptions
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.sample import sample_for_annotation
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import run_stylegan

SIZE = 16
CLASSES = ["background", "dark", "bright"]
TINY: dict[str, Any] = dict(members=3, epochs=2, pixels_per_step=32, steps_per_image=4, window=2, patience=1000,
                            device="cpu", precision="fp32", keep_checkpoints=10)


def tiny(**overrides: Any) -> DatasetGANConfig:
    return DatasetGANConfig(**{**TINY, **overrides})


def sample_options(**overrides: Any) -> SampleOptions:
    """What `datasetgan sample` takes, on the CPU."""
    return SampleOptions(**{"device": "cpu", **overrides})


@pytest.fixture(scope="session")
def stylegan_run(tmp_path_factory) -> Path:
    """A StyleGAN run of this project after one step (untrained weights are enough for the plumbing)."""
    root = tmp_path_factory.mktemp("sg")
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)).save(data / f"{i}.png")
    config = StyleGANConfig(resolution=SIZE, cfg="small", cbase=256, cmax=16, batch_size=4, total_kimg=0.004,
                            tick_kimg=0.004, generate_num=0, min_images=4, device="cpu", precision="fp32")
    run_stylegan(data, root / "run", config, progress_bar=False)
    return root / "run"


def script_masks(images: Path) -> dict[str, np.ndarray]:
    """An annotation by script: class by brightness (dark / bright / background in between)."""
    masks = {}
    for path in sorted(images.glob("*.png")):
        gray = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        low, high = np.quantile(gray, [0.33, 0.66])
        masks[path.stem] = np.where(gray <= low, 1, np.where(gray >= high, 2, 0)).astype(np.uint8)
    return masks


@pytest.fixture(scope="session")
def sampled(stylegan_run, tmp_path_factory) -> Path:
    """A folder after `datasetgan sample --num 4` (3 classes, no masks yet); copy it before writing."""
    out = tmp_path_factory.mktemp("dg") / "out"
    sample_for_annotation(stylegan_run, out, sample_options(num=4, seed=3), device=resolve_device("cpu"))
    write_classes(annotation_folder(out).classes_path, template_classes(CLASSES))
    return out


@pytest.fixture(scope="module")
def generated(sampled, tmp_path_factory) -> Path:
    """An annotated folder after `train --num 4` (4 generated pairs); copy it before writing."""
    out = tmp_path_factory.mktemp("generated") / "out"
    shutil.copytree(sampled, out)
    folder = annotation_folder(out)
    folder.masks_dir.mkdir()
    for stem, mask in script_masks(folder.images_dir).items():
        Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    run_operator(DATASETGAN, (), out, tiny(num=4, drop_uncertain=0.0), progress_bar=False)
    return out


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(folder, target)
    return target


@pytest.fixture
def annotated(sampled, tmp_path) -> Path:
    """A copy of `sampled` with an index-PNG mask per image."""
    out = copy_of(sampled, tmp_path)
    folder = annotation_folder(out)
    folder.masks_dir.mkdir()
    for stem, mask in script_masks(folder.images_dir).items():
        Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    return out


def one_thread_seed() -> None:
    torch.manual_seed(0)
