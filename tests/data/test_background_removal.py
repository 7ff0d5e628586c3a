"""`prepare --remove-background`: GrabCut removes a plain surround, fills it with --background, flags doubtful
estimates, writes a before/after sheet, and never touches the inputs."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ganfactory.data.discovery import discover_images
from ganfactory.data.prepare import prepare_dataset
from ganfactory.errors import ConfigError


def _disc_on_texture(seed: int, size: int = 96) -> Image.Image:
    """A saturated disc (about 20% of the image) on a pale, slightly noisy surround."""
    rng = np.random.default_rng(seed)
    surround = np.clip(rng.normal(200, 8, (size, size, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(surround)
    radius = size // 4
    ImageDraw.Draw(img).ellipse((size // 2 - radius, size // 2 - radius, size // 2 + radius, size // 2 + radius),
                                fill=(200, 30 + seed * 10, 40))
    return img


def test_background_becomes_the_fill_colour_and_the_object_stays(tmp_path, kit):
    for index in range(3):
        kit.save(_disc_on_texture(index), tmp_path / "src" / f"disc{index}.png")
    kit.save(Image.fromarray(np.random.default_rng(9).integers(0, 256, (96, 96, 3), dtype=np.uint8)),
             tmp_path / "src" / "noise.png")  # no object at all: the estimate must be flagged
    before = kit.tree_digest(tmp_path / "src")
    report = prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=64, remove_background=True,
                             background="white")
    assert kit.tree_digest(tmp_path / "src") == before
    by_name = {prepared.source.name: prepared for prepared in report.files}
    for index in range(3):
        prepared = by_name[f"disc{index}.png"]
        pixels = np.asarray(Image.open(prepared.output))
        assert (pixels[2, 2] == 255).all() and (pixels[-3, -3] == 255).all()  # corners: filled white
        assert pixels[32, 32, 0] > 150 and pixels[32, 32, 1] < 120  # centre: still the red disc
        assert 0.12 < prepared.foreground_fraction < 0.35 and prepared.background_doubt is None
    assert by_name["noise.png"].background_doubt
    saved = json.loads(report.report_path.read_text())
    assert {f["source"].rsplit("/", 1)[1]: f["background_doubt"] is not None for f in saved["files"]}["noise.png"]
    assert report.background_sheet == tmp_path / "out" / ".background_sheet.png"
    with Image.open(report.background_sheet) as sheet:
        assert sheet.width > 4 * 64
    # the sheet is hidden: a training run on OUT reads exactly the prepared images
    assert len(discover_images(tmp_path / "out").items()) == 4


def test_missing_opencv_is_one_sentence_before_anything_is_written(tmp_path, kit, monkeypatch):
    kit.save(_disc_on_texture(0), tmp_path / "src" / "a.png")
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    with pytest.raises(ConfigError, match=r"needs OpenCV; install it with .*ganfactory\[background\]"):
        prepare_dataset(tmp_path / "src", tmp_path / "out", resolution=32, remove_background=True)
    assert not (tmp_path / "out").exists()
