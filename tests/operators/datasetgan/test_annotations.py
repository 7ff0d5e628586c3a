"""Annotation formats (index PNG, RGB colours, LabelMe polygons) and every bad-annotation case."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.annotations import load_annotations
from ganfactory.operators.datasetgan.classes import read_classes
from ganfactory.operators.datasetgan.layout import annotation_folder

from .conftest import SIZE, copy_of, script_masks


@pytest.fixture
def folder(sampled, tmp_path):
    folder = annotation_folder(copy_of(sampled, tmp_path))
    folder.masks_dir.mkdir()
    return folder


def _load(folder):
    return load_annotations(folder, classes=read_classes(folder.classes_path), size=SIZE)


def _index_masks(folder):
    masks = script_masks(folder.images_dir)
    for stem, mask in masks.items():
        Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    return masks


def test_index_png(folder):
    masks = _index_masks(folder)
    ids, loaded = _load(folder)
    assert ids == sorted(masks) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, np.stack([masks[i] for i in ids]))


def test_rgb_colour_mask_as_cvat_exports(folder):
    masks = _index_masks(folder)
    colours = np.array([c.color for c in read_classes(folder.classes_path)], dtype=np.uint8)
    first = sorted(masks)[0]
    Image.fromarray(colours[masks[first]], mode="RGB").save(folder.masks_dir / f"{first}.png")
    ids, loaded = _load(folder)
    np.testing.assert_array_equal(loaded[0], masks[first])


def test_labelme_polygons_rasterised(folder):
    _index_masks(folder)
    first = sorted(p.stem for p in folder.images_dir.glob("*.png"))[0]
    (folder.masks_dir / f"{first}.png").unlink()
    shapes = [{"label": "dark", "points": [[0, 0], [8, 0], [8, 8], [0, 8]], "shape_type": "polygon"},
              {"label": "bright", "points": [[4, 4], [12, 12]], "shape_type": "rectangle"}]
    (folder.masks_dir / f"{first}.json").write_text(json.dumps(
        {"shapes": shapes, "imageHeight": SIZE, "imageWidth": SIZE}))
    _, loaded = _load(folder)
    mask = loaded[0]
    assert mask[1, 1] == 1 and mask[10, 10] == 2 and mask[15, 0] == 0 and mask[6, 6] == 2  # later shapes on top


def _message(folder) -> str:
    with pytest.raises(InputError) as info:
        _load(folder)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_wrong_size(folder):
    _index_masks(folder)
    stem = sorted(p.stem for p in folder.masks_dir.iterdir())[1]
    Image.new("L", (SIZE * 2, SIZE)).save(folder.masks_dir / f"{stem}.png")
    assert f"{stem}.png is 32x16" in _message(folder)


def test_unknown_colour(folder):
    _index_masks(folder)
    stem = sorted(p.stem for p in folder.masks_dir.iterdir())[0]
    Image.new("RGB", (SIZE, SIZE), (1, 2, 3)).save(folder.masks_dir / f"{stem}.png")
    message = _message(folder)
    assert f"{stem}.png" in message and "(1, 2, 3)" in message


def test_index_out_of_range(folder):
    _index_masks(folder)
    stem = sorted(p.stem for p in folder.masks_dir.iterdir())[0]
    Image.new("L", (SIZE, SIZE), 7).save(folder.masks_dir / f"{stem}.png")
    assert "class index 7" in _message(folder)


def test_unknown_labelme_label(folder):
    _index_masks(folder)
    stem = sorted(p.stem for p in folder.masks_dir.iterdir())[0]
    (folder.masks_dir / f"{stem}.png").unlink()
    (folder.masks_dir / f"{stem}.json").write_text(json.dumps({"shapes": [
        {"label": "cat", "points": [[0, 0], [3, 0], [3, 3]], "shape_type": "polygon"}],
        "imageHeight": SIZE, "imageWidth": SIZE}))
    assert "label 'cat'" in _message(folder)


def test_mask_without_image(folder):
    _index_masks(folder)
    Image.new("L", (SIZE, SIZE)).save(folder.masks_dir / "9999.png")
    message = _message(folder)
    assert "9999.png has no image" in message


def test_image_without_mask(folder):
    _index_masks(folder)
    stem = sorted(p.stem for p in folder.masks_dir.iterdir())[2]
    (folder.masks_dir / f"{stem}.png").unlink()
    message = _message(folder)
    assert f"{stem}.png has no mask" in message


def test_inputs_unchanged(folder):
    _index_masks(folder)
    before = {p.name: p.read_bytes() for p in folder.masks_dir.iterdir()}
    _load(folder)
    assert before == {p.name: p.read_bytes() for p in folder.masks_dir.iterdir()}


def _palette_mask(indices: np.ndarray, colours: list[tuple[int, int, int]]) -> Image.Image:
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette([v for colour in colours for v in colour])
    return image


def test_indexed_colour_mask_reads_as_its_colours(folder):
    """Issue 21, fault 2: a colour mask saved as indexed PNG (PIL quantize, image editors) means its colours;
    the palette index is only where the colour is stored."""
    masks = _index_masks(folder)
    colours = [c.color for c in read_classes(folder.classes_path)]
    first, second = sorted(masks)[:2]
    # the palette in another order than the classes: index 0 holds class 2's colour, 1 class 0's, 2 class 1's
    order = np.array([1, 2, 0], dtype=np.uint8)  # class -> palette index
    _palette_mask(order[masks[first]], [colours[2], colours[0], colours[1]]).save(folder.masks_dir / f"{first}.png")
    rgb = Image.fromarray(np.array(colours, dtype=np.uint8)[masks[second]], mode="RGB")
    rgb.quantize(colors=len(colours)).save(folder.masks_dir / f"{second}.png")  # what PIL's quantize writes
    ids, loaded = _load(folder)
    np.testing.assert_array_equal(loaded[0], masks[first])
    np.testing.assert_array_equal(loaded[1], masks[second])


def test_indexed_index_mask_and_unknown_palette_colour(folder):
    masks = _index_masks(folder)
    first = sorted(masks)[0]
    Image.fromarray(masks[first], mode="L").convert("P").save(folder.masks_dir / f"{first}.png")  # grey palette
    ids, loaded = _load(folder)
    np.testing.assert_array_equal(loaded[0], masks[first])
    _palette_mask(masks[first], [(0, 0, 0), (128, 0, 0), (0, 128, 0)]).save(folder.masks_dir / f"{first}.png")
    with pytest.raises(InputError, match=r"indexed PNG .*\(128, 0, 0\).*classes.json"):
        _load(folder)
