"""The test-split guard: DATA/train + DATA/test means training reads DATA/train only, and a test image that is
also a training image (the same bytes, or a re-encoded near duplicate) stops the run with one line naming both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfactory.data.split import require_disjoint_split, resolve_split
from ganfactory.errors import InputError

from .conftest import CLASSES, PER_CLASS, TINY_FLAGS, assert_one_line_error, manifest_lines, train, write_images


def _split_data(root: Path) -> Path:
    """train/: the usual stripes and checks; test/: gray ramps. (A test stripe image of another seed would share
    its stripes with a training one and differ only slightly in colour: a near duplicate by the guard's rule.)"""
    for name in CLASSES:
        write_images(root / "train" / name, name, PER_CLASS)
        write_images(root / "test" / name, "gray", 3, first_seed=10 * len(name))
    return root


@pytest.fixture(scope="module")
def split_data(tmp_path_factory) -> Path:
    return _split_data(tmp_path_factory.mktemp("split") / "pets")


def test_a_folder_with_train_and_test_is_split(split_data, two_classes):
    split = resolve_split(split_data)
    assert split.is_split and split.train == split_data / "train" and split.test == split_data / "test"
    assert not resolve_split(two_classes).is_split and resolve_split(two_classes).train == two_classes
    require_disjoint_split(split)  # distinct images: no error


def test_an_exact_and_a_near_duplicate_test_image_are_errors(tmp_path):
    data = _split_data(tmp_path / "exact")
    original = data / "train" / "cats" / "cats004.png"
    shutil.copy(original, data / "test" / "dogs" / "copy.png")  # same bytes, even under another class
    with pytest.raises(InputError) as caught:
        require_disjoint_split(resolve_split(data))
    copy = data / "test" / "dogs" / "copy.png"
    assert f"{copy} is the same file as the training image {original}" in str(caught.value)

    # A photo-like smooth image, and the same picture shrunk and saved as a JPEG (what a copy in the wild looks
    # like). pHash needs smooth content: on the 20 px stripes above, resampling alone moves 10-20 of its 64 bits.
    near = _split_data(tmp_path / "near")
    _smooth(1).save(near / "train" / "dogs" / "photo.png")
    _smooth(1).resize((48, 48), Image.Resampling.BICUBIC).save(near / "test" / "dogs" / "resaved.jpg", quality=80)
    _smooth(2).save(near / "test" / "dogs" / "other.png")  # a different picture of the same kind passes
    with pytest.raises(InputError, match=r"resaved\.jpg is a near duplicate \(\d of 64 hash bits differ\) of the "
                                         r"training image .*photo\.png; remove one of them"):
        require_disjoint_split(resolve_split(near))
    (near / "test" / "dogs" / "resaved.jpg").unlink()
    require_disjoint_split(resolve_split(near))


def _smooth(seed: int, size: int = 64) -> Image.Image:
    """Smooth colour waves, as photos are smooth at the scale of a perceptual hash."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    channels = [np.cos(rng.uniform(2, 9) * x + rng.uniform(2, 9) * y + rng.uniform(0, 6))
                * np.sin(rng.uniform(1, 5) * y + rng.uniform(0, 6)) for _ in range(3)]
    return Image.fromarray(((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8))


def test_training_refuses_a_leaked_test_image_in_one_line(cli, tmp_path):
    data = _split_data(tmp_path / "pets")
    leaked = data / "test" / "cats" / "leaked.png"
    shutil.copy(data / "train" / "cats" / "cats002.png", leaked)
    out = tmp_path / "run"
    result = cli("stylegan", data, out, *TINY_FLAGS, "--total-kimg", "0.01", "--generate-num", "1")
    message = assert_one_line_error(result)
    assert str(leaked) in message and str(data / "train" / "cats" / "cats002.png") in message
    assert not list((out / "model").glob("*.pt"))  # refused before any training step


def test_training_on_a_split_folder_reads_the_train_split_only(split_data, pooled_features, tmp_path, monkeypatch):
    """Training, and the memorisation gate after it, see DATA/train only."""
    monkeypatch.setenv("GANFACTORY_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    train(split_data, out, total_kimg=0.008, generate_num=2, max_similarity=0.9999, features=str(pooled_features))
    config = json.loads((out / "config.json").read_text())
    assert config["resolved"]["classes"] == list(CLASSES)  # not ["test", "train"]
    validation = json.loads((out / "validation.json").read_text())
    assert validation["root"] == str(split_data / "train")
    lines = manifest_lines(out)
    assert len(lines) == 4 and all(Path(line["nearest"]["source"]).parent.parent == split_data / "train"
                                   for line in lines)
    assert all(line["memorisation_gate"]["max_similarity"] == 0.9999 for line in lines)
    assert json.loads((out / "logs" / "progress.json").read_text())["generation"]["checked"] >= 4
