"""discover_images: layouts, skipped entries, nesting and the errors for unusable folders."""

from __future__ import annotations

import pytest
from PIL import Image

from ganfactory.data.discovery import discover_images, list_image_files
from ganfactory.errors import InputError


def test_single_level_is_one_class_named_after_the_folder(tmp_path, kit):
    root = tmp_path / "flowers"
    for name in ["b.png", "a.JPG", "c.TiFf", "d.webp", "e.bmp", "f.jpeg", ".hidden.png"]:
        kit.save(Image.new("RGB", (4, 4)), root / name, format="PNG")  # discovery looks at names only
    kit.write(root / "notes.txt", b"text")
    found = discover_images(root)
    assert found.layout == "single"
    assert list(found.classes) == ["flowers"]
    assert [p.name for p in found.classes["flowers"]] == ["a.JPG", "b.png", "c.TiFf", "d.webp", "e.bmp", "f.jpeg"]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert reasons == {".hidden.png": "hidden file", "notes.txt": "not an image extension"}
    assert found.num_images == 6 and found.empty_classes == [] and found.nested_too_deep == []


def test_dual_level_classes_are_sorted_with_unicode_names(tmp_path, kit):
    root = tmp_path / "data"
    for cls, name in [("猫", "ü.png"), ("dogs", "é2.png"), ("dogs", "é1.png"), ("ants", "x.png")]:
        kit.save(Image.new("RGB", (4, 4)), root / cls / name)
    (root / "birds").mkdir()  # an empty class folder
    (root / ".git").mkdir()
    kit.save(Image.new("RGB", (4, 4)), root / "loose.png")
    found = discover_images(root)
    assert found.layout == "dual"
    assert list(found.classes) == ["ants", "dogs", "猫"]
    assert [p.name for p in found.classes["dogs"]] == ["é1.png", "é2.png"]
    assert found.classes["猫"][0].name == "ü.png"
    assert found.empty_classes == ["birds"]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert reasons[".git"] == "hidden folder"
    assert reasons["loose.png"].startswith("loose image next to class folders")
    assert [p.name for p in list_image_files(root)] == ["x.png", "é1.png", "é2.png", "ü.png"]


def test_three_levels_of_nesting_are_reported(tmp_path, kit):
    root = tmp_path / "data"
    kit.save(Image.new("RGB", (4, 4)), root / "cats" / "a.png")
    kit.save(Image.new("RGB", (4, 4)), root / "cats" / "extra" / "deeper" / "b.png")
    (root / "cats" / "no_images_here").mkdir()
    found = discover_images(root)
    assert found.nested_too_deep == [root / "cats" / "extra"]
    assert [p.name for p in found.classes["cats"]] == ["a.png"]


def test_images_only_too_deep_is_an_error_naming_the_folder(tmp_path, kit):
    root = tmp_path / "data"
    kit.save(Image.new("RGB", (4, 4)), root / "a" / "b" / "c.png")
    with pytest.raises(InputError, match="nested too deep"):
        discover_images(root)


def test_empty_missing_and_file_roots_raise_input_error(tmp_path, kit):
    (tmp_path / "empty").mkdir()
    kit.write(tmp_path / "empty" / "readme.txt", b"x")
    with pytest.raises(InputError, match="contains no images"):
        discover_images(tmp_path / "empty")
    with pytest.raises(InputError, match="does not exist"):
        discover_images(tmp_path / "missing")
    kit.write(tmp_path / "file.png", b"x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        discover_images(tmp_path / "file.png")
