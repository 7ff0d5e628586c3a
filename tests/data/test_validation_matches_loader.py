"""Issue 13, fault 8: validation's verdict on a file is the loader's verdict.

A PNG whose compressed pixel stream is damaged but whose chunk checksums are valid passed `verify()`, so
validation.json counted it usable while the loader skipped it. And a decompression-bomb image's reason
was cut to "(Image size)"; the whole sentence is the reason.
"""

from __future__ import annotations

import struct
import zlib

from PIL import Image

from ganfactory.data.dataset import load_image_folder
from ganfactory.data.validation import validate_dataset


def _with_damaged_pixels(png: bytes) -> bytes:
    """The same PNG with half of its IDAT data dropped and the chunk's CRC recomputed (still 'valid')."""
    out, pos = bytearray(png[:8]), 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IDAT":
            body = body[: len(body) // 2]
        out += struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body))
        pos += 12 + length
    return bytes(out)


def test_png_with_a_corrupt_pixel_stream_is_left_out_like_the_loader_does(tmp_path, kit):
    for index in range(3):
        kit.save(kit.noise(index, (32, 32)), tmp_path / "data" / f"good{index}.png")
    damaged = _with_damaged_pixels(kit.encode(kit.noise(9, (32, 32)), "PNG"))
    kit.write(tmp_path / "data" / "damaged.png", damaged)
    with Image.open(tmp_path / "data" / "damaged.png") as img:
        img.verify()  # the checksums are intact: only decoding the pixels finds the damage

    report = validate_dataset(tmp_path / "data", resolution=32, min_images=1)
    loaded = load_image_folder(tmp_path / "data", resolution=32)
    assert report.num_usable == len(loaded) == 3
    assert {p.name for p in report.good_files["data"]} == {p.name for p in loaded.files}
    assert [issue.path.name for issue in report.bad_files] == ["damaged.png"]


def test_decompression_bomb_reason_is_the_whole_sentence(tmp_path, kit, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 32x32 = 1024 pixels is then over twice the limit
    kit.save(kit.noise(0, (32, 32)), tmp_path / "data" / "big.png")
    report = validate_dataset(tmp_path / "data", resolution=8, min_images=1)
    message = report.bad_files[0].message
    # Pillow refuses at twice MAX_IMAGE_PIXELS and says so in its own sentence, which is kept whole.
    assert "cannot be read (Image size (1024 pixels) exceeds limit of 200 pixels, could be decompression bomb DOS " \
           "attack); it is left out." in message
    assert report.num_usable == 0
