"""Fixtures of the StackGAN tests: a captioned folder built here, the packaged sentence encoder (loaded once)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the encoder is local; a test must never reach the hub


def write_image(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (24, 20)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.zeros((size[1], size[0], 3), np.uint8)
    array[:] = color
    array[size[1] // 4: 3 * size[1] // 4, size[0] // 4: 3 * size[0] // 4] = 255 - np.array(color, np.uint8)
    Image.fromarray(array).save(path)


def build_captioned_folder(root: Path) -> Path:
    """Two classes (one with a unicode name), captions beside the images; `birds/c.png` has no caption file,
    `flöwers/empty.png` an empty one, `flöwers/été.png` a unicode file name, `birds/orphan.txt` no image."""
    data = root / "data"
    birds, flowers = data / "birds", data / "flöwers"
    write_image(birds / "a.png", (200, 30, 30))
    (birds / "a.txt").write_text("a red bird with short wings\na small red bird\n\n", encoding="utf-8")
    write_image(birds / "b.png", (30, 30, 200), size=(30, 16))
    (birds / "b.txt").write_text("a blue bird\n", encoding="utf-8")
    write_image(birds / "c.png", (30, 200, 30))
    write_image(birds / "d.png", (90, 90, 20))
    (birds / "d.txt").write_text("an olive bird perched\nolive feathers\na dull bird\n", encoding="utf-8")
    (birds / "orphan.txt").write_text("no image for me\n", encoding="utf-8")
    write_image(flowers / "été.png", (250, 250, 0))
    (flowers / "été.txt").write_text("a yellow flower in summer\nbright petals\n", encoding="utf-8")
    write_image(flowers / "empty.png", (250, 0, 250))
    (flowers / "empty.txt").write_text("", encoding="utf-8")
    write_image(flowers / "rose.png", (220, 20, 60))
    (flowers / "rose.txt").write_text("a crimson rose\n", encoding="utf-8")
    return data


@pytest.fixture(scope="session")
def encoder():
    from ganfactory.operators.stackgan.encoder import load_encoder

    return load_encoder()


@pytest.fixture
def captioned(tmp_path: Path) -> Path:
    return build_captioned_folder(tmp_path)


def tiny_config(**overrides):
    """16 px stage I, 32 px stage II, a few channels: a step takes milliseconds."""
    from ganfactory.operators.stackgan.config import StackGANConfig

    values = dict(stage1_resolution=16, resolution=32, gf=4, df=4, z_dim=8, condition_dim=8, res_blocks=1,
                  batch_size=2, stage1_epochs=2, stage2_epochs=2, generate_num=2, sample_captions=4, device="cpu",
                  keep_checkpoints=10)
    return StackGANConfig(**{**values, **overrides})


@pytest.fixture(scope="session")
def prepared(tmp_path_factory, encoder) -> Path:
    """The captioned test folder, prepared once (3 train, 2 test images)."""
    from ganfactory.operators.stackgan.prepare import prepare_stackgan_dataset

    root = tmp_path_factory.mktemp("stackgan")
    out = root / "prepared"
    prepare_stackgan_dataset(build_captioned_folder(root), out, encoder=encoder, test_fraction=0.3, seed=0)
    return out
