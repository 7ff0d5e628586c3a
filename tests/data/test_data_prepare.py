"""prepare_dataset: geometry, colour, duplicates, the report, and that the source is never touched."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganfactory.data.prepare import prepare_dataset
from ganfactory.data.validation import validate_dataset
from ganfactory.errors import ConfigError, InputError


def test_dual_level_keeps_classes_and_writes_square_pngs(make_folder, kit, tmp_path):
    root = make_folder({"cats": 3, "dogs": 2}, size=(48, 32))
    kit.write(root / "dogs" / "broken.jpg", b"junk")
    kit.write(root / "cats" / "zz_copy.png", (root / "cats" / "img_000.png").read_bytes())
    out = tmp_path / "out"
    report = prepare_dataset(root, out, resolution=16)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "cats/img_000.png", "cats/img_001.png", "cats/img_002.png", "dogs/img_000.png", "dogs/img_001.png"]
    with Image.open(out / "cats" / "img_000.png") as img:
        assert img.size == (16, 16) and img.mode == "RGB" and img.format == "PNG"
    assert report.written == {"cats": 3, "dogs": 2}
    dropped = {d.path.name: d for d in report.dropped}
    assert dropped["broken.jpg"].reason == "unreadable"
    assert dropped["zz_copy.png"].reason == "exact_duplicate"
    assert dropped["zz_copy.png"].duplicate_of == root / "cats" / "img_000.png"
    saved = json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert {d["reason"] for d in saved["dropped"]} == {"unreadable", "exact_duplicate"}
    assert saved["written"] == {"cats": 3, "dogs": 2}


def test_single_level_is_written_flat_and_crop_keeps_the_centre(tmp_path, kit):
    img = Image.new("RGB", (60, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))
    kit.save(img, tmp_path / "src" / "wide.jpg", quality=95)
    prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=8, mode="crop")
    with Image.open(tmp_path / "out" / "wide.png") as result:
        red, green, blue = result.getpixel((4, 4))
    assert blue > 200 and red < 40


def test_pad_uses_the_background_and_flattens_alpha(tmp_path, kit):
    kit.save(Image.new("RGB", (32, 16), (0, 200, 0)), tmp_path / "src" / "wide.png")
    kit.save(Image.new("RGBA", (16, 16), (9, 9, 9, 0)), tmp_path / "src" / "clear.png")
    prepare_dataset(tmp_path / "src", tmp_path / "black", resolution=16, mode="pad", background="#000000")
    prepare_dataset(tmp_path / "src", tmp_path / "white", resolution=16, mode="pad")
    with Image.open(tmp_path / "black" / "wide.png") as img:
        assert img.getpixel((8, 0)) == (0, 0, 0) and img.getpixel((8, 8)) == (0, 200, 0)
    with Image.open(tmp_path / "white" / "clear.png") as img:
        assert img.getpixel((8, 8)) == (255, 255, 255)
    with Image.open(tmp_path / "black" / "clear.png") as img:
        assert img.getpixel((8, 8)) == (0, 0, 0)


def test_grayscale_output_and_16_bit_input(tmp_path, kit):
    kit.save(Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16)), tmp_path / "src" / "deep.png")
    prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=4, channels=1)
    with Image.open(tmp_path / "out" / "deep.png") as img:
        assert img.mode == "L" and img.getpixel((1, 1)) == 255


def test_near_duplicates_are_dropped_only_with_dedupe(tmp_path, kit):
    base = kit.noise(1, (64, 64))
    kit.save(base, tmp_path / "src" / "a.png")
    brighter = Image.fromarray(np.clip(np.asarray(base).astype(int) + 4, 0, 255).astype(np.uint8))
    kit.save(brighter, tmp_path / "src" / "b.jpg", quality=90)  # same picture, re-encoded and brighter
    kit.save(kit.noise(2, (64, 64)), tmp_path / "src" / "c.png")
    plain = prepare_dataset(tmp_path / "src", tmp_path / "plain", resolution=32)
    assert plain.written == {"src": 3} and plain.dropped == []
    report = prepare_dataset(tmp_path / "src", tmp_path / "deduped", resolution=32, dedupe=True)
    assert [p.source.name for p in report.files] == ["a.png", "c.png"]
    (near,) = report.dropped
    assert near.reason == "near_duplicate" and near.duplicate_of == tmp_path / "src" / "a.png"
    assert near.distance is not None and near.distance <= 4
    assert not (tmp_path / "deduped" / "b.png").exists()
    strict = prepare_dataset(tmp_path / "src", tmp_path / "strict", resolution=32, dedupe=True, dedupe_threshold=0)
    assert len(strict.files) == 3 - (near.distance == 0)


def test_flat_images_of_different_colours_are_not_near_duplicates(tmp_path, kit):
    for index, colour in enumerate([(200, 0, 0), (0, 0, 200), (60, 60, 60), (200, 0, 0)]):
        kit.save(Image.new("RGB", (16, 16), colour), tmp_path / "src" / f"{index}.png", compress_level=index)
    report = prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=8, dedupe=True)
    assert [p.source.name for p in report.files] == ["0.png", "1.png", "2.png"]
    assert [(d.path.name, d.reason, d.distance) for d in report.dropped] == [("3.png", "near_duplicate", 0)]


def test_name_collisions_do_not_overwrite(tmp_path, kit):
    kit.save(kit.noise(1), tmp_path / "src" / "a.png")
    kit.save(kit.noise(2), tmp_path / "src" / "a.jpg")
    kit.save(kit.noise(3), tmp_path / "src" / "A.bmp")
    report = prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=8)
    # sorted order is A.bmp, a.jpg, a.png; names are compared case-insensitively
    assert [(p.source.name, p.output.name) for p in report.files] == [
        ("A.bmp", "A.png"), ("a.jpg", "a_jpg.png"), ("a.png", "a_png.png")]
    assert len(list((tmp_path / "out").glob("*.png"))) == 3


def test_classes_under_min_images_are_left_out(make_folder, tmp_path):
    root = make_folder({"big": 3, "small": 1})
    report = prepare_dataset(root, tmp_path / "out", resolution=8, min_images=2)
    assert report.written == {"big": 3} and report.dropped_classes == ["small"]
    assert not (tmp_path / "out" / "small").exists()
    assert any("'small' has only 1 images" in w for w in report.warnings)


def test_nothing_preparable_raises_and_still_writes_the_report(tmp_path, kit):
    kit.write(tmp_path / "src" / "a.png", b"junk")
    with pytest.raises(InputError, match="could be prepared"):
        prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=8)
    assert json.loads((tmp_path / "out" / "prepare_report.json").read_text())["dropped"][0]["reason"] == "unreadable"


@pytest.mark.parametrize("where", ["inside", "same", "parent"])
def test_destination_must_be_outside_the_source(make_folder, tmp_path, where):
    root = make_folder({None: 2})
    target = {"inside": root / "prepared", "same": root, "parent": tmp_path}[where]
    with pytest.raises(InputError, match="output folder"):
        prepare_dataset(root, target, resolution=8)
    assert not (root / "prepared").exists()


def test_destination_must_be_empty(make_folder, tmp_path, kit):
    root = make_folder({None: 2})
    kit.write(tmp_path / "out" / "old.txt", b"x")
    with pytest.raises(InputError, match="not empty"):
        prepare_dataset(root, tmp_path / "out", resolution=8)


@pytest.mark.parametrize("kwargs", [{"resolution": 100}, {"resolution": 2}, {"mode": "stretch"},
                                    {"channels": 4}, {"background": "nope"}, {"dedupe_threshold": 65}])
def test_bad_parameters_are_config_errors(make_folder, tmp_path, kwargs):
    root = make_folder({None: 1})
    with pytest.raises(ConfigError):
        prepare_dataset(root, tmp_path / "out", **{"resolution": 8, **kwargs})


def test_source_is_byte_for_byte_unchanged_after_validate_and_prepare(make_folder, kit, tmp_path):
    root = make_folder({"a": 3, "b": 2})
    kit.save(Image.new("RGBA", (20, 10), (1, 2, 3, 0)), root / "a" / "rgba.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    kit.save(kit.noise(9, (20, 10)), root / "b" / "rotated.jpg", exif=exif)
    kit.write(root / "b" / "broken.png", b"junk")
    kit.write(root / "b" / "dup.png", (root / "b" / "img_000.png").read_bytes())
    kit.write(root / "notes.txt", b"hello")
    before = kit.tree_digest(root)
    validate_dataset(root, resolution=16, min_images=1).write_json(tmp_path / "validation.json")
    prepare_dataset(root, tmp_path / "out", resolution=16, dedupe=True)
    assert kit.tree_digest(root) == before
