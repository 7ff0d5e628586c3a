"""validate_dataset: every kind of bad file and bad folder, and the report's verdict."""

from __future__ import annotations

import json
import logging

import pytest
from PIL import Image

from ganfactory.data.discovery import discover_images
from ganfactory.data.validation import readable_files, validate_dataset
from ganfactory.errors import InputError


def kinds(report) -> dict[str, str]:
    return {issue.path.name: issue.kind for issue in report.issues}


def test_clean_dataset_is_usable_with_counts(make_folder):
    root = make_folder({"cats": 4, "dogs": 3})
    report = validate_dataset(root, resolution=32, min_images=3)
    assert report.usable and report.fatal == [] and report.warnings == []
    assert report.layout == "dual"
    assert report.class_counts == {"cats": 4, "dogs": 3}
    assert [p.name for p in report.good_files["dogs"]] == ["img_000.png", "img_001.png", "img_002.png"]
    report.raise_if_unusable()  # no error


def test_bad_files_are_excluded_and_the_dataset_stays_usable(make_folder, kit):
    root = make_folder({None: 4}, size=(32, 32))
    kit.write(root / "corrupt.png", b"\x89PNG\r\n\x1a\n this is not really a png")
    jpeg = kit.encode(kit.noise(99, (64, 64)), "JPEG")
    kit.write(root / "truncated.jpg", jpeg[: len(jpeg) // 2])
    kit.write(root / "zero.png", b"")
    report = validate_dataset(root, resolution=32, min_images=4)
    assert report.usable
    assert {i.path.name: i.kind for i in report.bad_files} == {
        "corrupt.png": "unreadable", "truncated.jpg": "unreadable", "zero.png": "empty"}
    messages = " ".join(report.warnings)
    assert "truncated" in messages and "empty (0 bytes)" in messages
    assert report.classes["data"].found == 7 and report.classes["data"].excluded == 3
    assert report.class_counts == {"data": 4}


def test_wrong_extension_is_a_warning_and_the_file_is_kept(make_folder, kit):
    root = make_folder({None: 3})
    kit.write(root / "actually_png.jpg", kit.encode(kit.noise(50), "PNG"))
    report = validate_dataset(root, resolution=32, min_images=1)
    assert kinds(report) == {"actually_png.jpg": "extension_mismatch"}
    assert root / "actually_png.jpg" in report.good_files["data"]
    assert "PNG data despite its .jpg extension" in report.warnings[0]


def test_exact_duplicates_within_a_class_are_excluded_across_classes_kept(make_folder, kit):
    root = make_folder({"a": 3, "b": 3})
    kit.write(root / "a" / "zz_copy.png", (root / "a" / "img_000.png").read_bytes())
    kit.write(root / "b" / "zz_same_as_a.png", (root / "a" / "img_001.png").read_bytes())
    report = validate_dataset(root, resolution=32, min_images=1)
    assert [(i.path.name, i.kind) for i in report.bad_files] == [("zz_copy.png", "duplicate")]
    assert "exact duplicate of" in report.bad_files[0].message and "img_000.png" in report.bad_files[0].message
    assert kinds(report)["zz_same_as_a.png"] == "cross_class_duplicate"
    assert report.class_counts == {"a": 3, "b": 4}


def test_small_images_are_a_warning_counted_per_class(make_folder, kit):
    root = make_folder({None: 3}, size=(32, 32))
    kit.save(kit.noise(7, (64, 48)), root / "wide.png")
    report = validate_dataset(root, resolution=(48, 64), min_images=1)
    assert report.usable and report.classes["data"].too_small == 3
    assert sum(i.kind == "too_small" for i in report.issues) == 3
    assert any("3 of 4 images are smaller than 64x48" in w for w in report.warnings)


def test_too_few_images_is_fatal_with_one_sentence(make_folder):
    root = make_folder({"cats": 5, "dogs": 2})
    report = validate_dataset(root, resolution=32, min_images=3)
    assert not report.usable
    assert report.fatal == ["class 'dogs' has 2 usable images, fewer than the minimum of 3; "
                            "add images or lower --min-images."]
    with pytest.raises(InputError, match="class 'dogs' has 2 usable images") as error:
        report.raise_if_unusable()
    assert str(error.value).count(".") == 1  # one sentence


def test_empty_class_is_ignored_with_a_warning(make_folder):
    root = make_folder({"cats": 3})
    (root / "dogs").mkdir()
    report = validate_dataset(root, resolution=32, min_images=3)
    assert report.usable and list(report.classes) == ["cats"]
    assert report.empty_classes == ["dogs"]
    assert any("dogs has no images and is ignored" in w for w in report.warnings)


def test_three_levels_of_nesting_is_fatal(make_folder, kit):
    root = make_folder({"cats": 3})
    kit.save(kit.noise(5), root / "cats" / "sub" / "x.png")
    report = validate_dataset(root, resolution=32, min_images=1)
    assert not report.usable
    assert "nested more than two levels deep" in report.fatal[0] and "sub" in report.fatal[0]


def test_heavy_imbalance_is_a_warning(make_folder):
    root = make_folder({"many": 11, "few": 1})
    report = validate_dataset(root, resolution=32, min_images=1, max_imbalance=10)
    assert report.usable
    assert any("imbalanced: 'many' has 11 images and 'few' has 1" in w for w in report.warnings)


def test_nothing_readable_is_fatal(tmp_path, kit):
    kit.write(tmp_path / "data" / "a.png", b"junk")
    kit.write(tmp_path / "data" / "b.jpg", b"")
    report = validate_dataset(tmp_path / "data", min_images=1)
    assert report.fatal[0].startswith("none of the 2 image files")
    assert report.good_files == {"data": []}


def test_missing_and_empty_folders_raise(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        validate_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="contains no images"):
        validate_dataset(tmp_path / "empty")


def test_json_report_round_trips_unicode_names(make_folder, kit, tmp_path):
    root = make_folder({"chats_é": 2, "犬": 2})
    kit.write(root / "犬" / "broken.png", b"junk")
    report = validate_dataset(root, resolution=32, min_images=2)
    out = tmp_path / "reports" / "validation.json"
    report.write_json(out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "犬" in out.read_text(encoding="utf-8")
    assert data["usable"] is True and data["class_counts"] == {"chats_é": 2, "犬": 2}
    assert data["bad_files"][0]["path"].endswith("broken.png") and data["bad_files"][0]["kind"] == "unreadable"
    assert json.loads(report.to_json()) == data
    lines = report.summary_lines()
    assert lines[-1] == "result: usable" and any("犬: 2 usable, 1 left out" in line for line in lines)


def test_thread_pool_gives_the_same_report(make_folder, kit):
    root = make_folder({"a": 6, "b": 5})
    kit.write(root / "a" / "bad.png", b"junk")
    one = validate_dataset(root, resolution=32, min_images=1, workers=1)
    many = validate_dataset(root, resolution=32, min_images=1, workers=4)
    assert one.to_dict() == many.to_dict()


def test_readable_files_skips_bad_files_with_a_logged_warning(make_folder, kit, caplog):
    root = make_folder({"a": 2})
    kit.write(root / "a" / "junk.png", b"junk")
    kit.write(root / "a" / "zero.png", b"")
    with caplog.at_level(logging.WARNING, logger="ganfactory.data"):
        kept = readable_files(discover_images(root))
    assert {name: [p.name for p in paths] for name, paths in kept.items()} == {"a": ["img_000.png", "img_001.png"]}
    assert "junk.png" in caplog.text and "zero.png" in caplog.text


def test_readable_files_raises_when_nothing_opens(tmp_path, kit):
    kit.write(tmp_path / "d" / "x.png", b"junk")
    with pytest.raises(InputError, match="can be read"):
        readable_files(discover_images(tmp_path / "d"))


def test_rgba_and_16_bit_files_validate_as_good(tmp_path, kit):
    import numpy as np

    kit.save(Image.new("RGBA", (8, 8), (1, 2, 3, 0)), tmp_path / "d" / "rgba.png")
    kit.save(Image.fromarray(np.full((8, 8), 60000, dtype=np.uint16)), tmp_path / "d" / "deep.tif")
    kit.save(Image.new("CMYK", (8, 8)), tmp_path / "d" / "cmyk.jpg")
    report = validate_dataset(tmp_path / "d", resolution=8, min_images=3)
    assert report.usable and report.issues == []


def test_exif_rotation_is_taken_into_account_for_the_size_check(tmp_path, kit):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 20x10, displayed 10 wide and 20 tall
    kit.save(Image.new("RGB", (20, 10)), tmp_path / "d" / "portrait.jpg", exif=exif)
    assert validate_dataset(tmp_path / "d", resolution=(20, 10), min_images=1).issues == []
    assert validate_dataset(tmp_path / "d", resolution=(10, 20), min_images=1).issues[0].kind == "too_small"


def test_json_report_survives_file_names_that_are_not_utf8(tmp_path, kit):
    import os

    folder = tmp_path / "d"
    kit.save(Image.new("RGB", (4, 4)), folder / "ok.png")
    os.rename(folder / "ok.png", os.path.join(os.fsencode(folder), b"caf\xe9.png"))  # latin-1 name
    report = validate_dataset(folder, resolution=4, min_images=1)
    report.write_json(tmp_path / "r.json")
    (name,) = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["good_files"]["d"]
    assert os.fsencode(name) == os.path.join(os.fsencode(folder), b"caf\xe9.png")
