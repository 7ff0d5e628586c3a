"""load_image_folder, iter_image_batches and the float conversions."""

from __future__ import annotations

import logging

import pytest
import torch
from PIL import Image

from ganfactory.data.dataset import from_float, iter_image_batches, load_image_folder, to_float
from ganfactory.data.validation import validate_dataset
from ganfactory.errors import InputError


@pytest.fixture
def coloured(tmp_path, kit):
    """data/red/{0,1}.png, data/blue/0.png as solid colours, plus a broken file in blue."""
    root = tmp_path / "data"
    for name, colour, count in [("red", (255, 0, 0), 2), ("blue", (0, 0, 255), 1)]:
        for index in range(count):
            kit.save(Image.new("RGB", (12, 8), colour), root / name / f"{index}.png")
    kit.write(root / "blue" / "broken.png", b"junk")
    return root


def test_dual_level_folder_is_decoded_once_with_labels(coloured, caplog):
    with caplog.at_level(logging.WARNING, logger="ganfactory.data"):
        data = load_image_folder(coloured, resolution=8)
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape) == (3, 3, 8, 8)
    assert data.class_names == ["blue", "red"] and data.conditional and data.num_classes == 2
    assert data.labels.tolist() == [0, 1, 1]
    assert [p.name for p in data.files] == ["0.png", "0.png", "1.png"]
    assert data.images[0, :, 4, 4].tolist() == [0, 0, 255]
    assert data.images[2, :, 4, 4].tolist() == [255, 0, 0]
    assert [p.name for p in data.unreadable] == ["broken.png"] and "broken.png" in caplog.text


def test_single_level_folder_is_unconditional_and_grayscale_works(tmp_path, kit):
    kit.save(Image.new("RGB", (8, 8), (90, 90, 90)), tmp_path / "d" / "x.png")
    data = load_image_folder(tmp_path / "d", resolution=(4, 6), channels=1)
    assert not data.conditional and data.layout == "single" and data.class_names == ["d"]
    assert tuple(data.images.shape) == (1, 1, 4, 6) and data.images.unique().tolist() == [90]


def test_given_files_are_used_exactly(coloured):
    report = validate_dataset(coloured, resolution=8, min_images=1)
    data = load_image_folder(coloured, resolution=8, files=report.good_files)
    assert data.files == [*report.good_files["blue"], *report.good_files["red"]] and data.unreadable == []
    assert data.conditional
    only_red = load_image_folder(coloured, resolution=8, files={"red": [coloured / "red" / "1.png"]})
    assert len(only_red) == 1 and only_red.class_names == ["red"] and only_red.labels.tolist() == [0]


def test_given_files_of_a_single_level_folder_are_unconditional(tmp_path, kit):
    kit.save(Image.new("RGB", (8, 8)), tmp_path / "flat" / "x.png")
    report = validate_dataset(tmp_path / "flat", resolution=8, min_images=1)
    assert not load_image_folder(tmp_path / "flat", resolution=8, files=report.good_files).conditional


def test_nothing_readable_raises(tmp_path, kit):
    kit.write(tmp_path / "d" / "x.png", b"junk")
    with pytest.raises(InputError, match="can be read"):
        load_image_folder(tmp_path / "d", resolution=8)


def test_batches_stream_in_order_and_skip_unreadable(coloured):
    paths = sorted(coloured.rglob("*.png"))
    batches = list(iter_image_batches(paths, size=(4, 6), batch_size=2, mode="resize", workers=2))
    # blue/0, blue/broken | red/0, red/1: the broken file shrinks the first batch
    assert [tuple(b.shape) for b, _ in batches] == [(1, 3, 4, 6), (2, 3, 4, 6)]
    assert [p for _, names in batches for p in names] == [p for p in paths if p.name != "broken.png"]
    assert batches[0][0][0, :, 0, 0].tolist() == [0, 0, 255]


def test_float_conversion_round_trips():
    images = torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)
    floats = to_float(images)
    assert floats.dtype == torch.float32 and floats[0] == -1.0 and floats[-1] == 1.0
    assert torch.equal(from_float(floats), images)
    assert from_float(torch.tensor([-3.0, 3.0])).tolist() == [0, 255]
    with pytest.raises(ValueError):
        to_float(floats)
