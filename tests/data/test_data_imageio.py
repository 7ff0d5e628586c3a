"""load_image and the geometry helpers, on real files of every odd kind."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.data.imageio import (
    fit,
    load_image,
    parse_color,
    pil_to_tensor,
    resize,
    to_square,
)
from ganfactory.errors import ConfigError, InputError
from ganfactory.output.images import tensor_to_pil


def mode_of(path) -> str:
    with Image.open(path) as img:
        return img.mode


def pixels(img: Image.Image) -> list:
    """Pixel values in raster order (getdata() is deprecated in Pillow 13)."""
    return np.asarray(img).reshape(-1).tolist()


def test_grayscale_loads_as_l_or_replicated_rgb(tmp_path, kit):
    path = kit.save(Image.new("L", (4, 4), 77), tmp_path / "gray.png")
    assert load_image(path, channels=1).mode == "L"
    rgb = load_image(path, channels=3)
    assert rgb.mode == "RGB" and rgb.getpixel((0, 0)) == (77, 77, 77)


def test_rgba_alpha_zero_becomes_background_and_opaque_is_exact(tmp_path, kit):
    img = Image.new("RGBA", (3, 1))
    img.putpixel((0, 0), (10, 20, 30, 0))
    img.putpixel((1, 0), (10, 20, 30, 255))
    img.putpixel((2, 0), (0, 0, 0, 128))
    path = kit.save(img, tmp_path / "rgba.png")
    loaded = load_image(path)
    assert loaded.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.getpixel((1, 0)) == (10, 20, 30)
    assert all(abs(v - 127) <= 1 for v in loaded.getpixel((2, 0)))  # half black over white
    assert load_image(path, background=(0, 255, 0)).getpixel((0, 0)) == (0, 255, 0)


def test_la_image_is_flattened_on_white(tmp_path, kit):
    img = Image.new("LA", (2, 1))
    img.putpixel((0, 0), (0, 0))
    img.putpixel((1, 0), (40, 255))
    loaded = load_image(kit.save(img, tmp_path / "la.png"), channels=1)
    assert pixels(loaded) == [255, 40]


def test_palette_png_with_transparency(tmp_path, kit):
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    path = kit.save(img, tmp_path / "pal.png", transparency=0)
    assert mode_of(path) == "P"
    loaded = load_image(path)
    assert loaded.getpixel((0, 0)) == (255, 255, 255)  # transparent red -> background
    assert loaded.getpixel((1, 0)) == (0, 0, 255)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_is_scaled_not_clipped(tmp_path, kit, fmt):
    values = np.array([[0, 65535, 257, 32896]], dtype=np.uint16)
    path = kit.save(Image.fromarray(values), tmp_path / f"deep.{fmt.lower()}", format=fmt)
    assert mode_of(path).startswith("I;16")
    assert pixels(load_image(path, channels=1)) == [0, 255, 1, 128]


def test_16_bit_big_endian_and_32_bit_integer_tiff(tmp_path, kit):
    values = np.array([[0, 65535, 514]], dtype=np.uint16)
    big = Image.frombytes("I;16B", (3, 1), values.astype(">u2").tobytes())
    path = kit.save(big, tmp_path / "big.tif")
    assert mode_of(path) == "I;16B"
    assert pixels(load_image(path, channels=1)) == [0, 255, 2]
    wide = kit.save(Image.fromarray(values.astype(np.int32)), tmp_path / "wide.tif")
    assert mode_of(wide) == "I"
    assert pixels(load_image(wide, channels=1)) == [0, 255, 2]


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path, kit):
    img = Image.new("CMYK", (16, 16), (0, 0, 0, 0))
    img.paste((255, 0, 0, 0), (8, 0, 16, 16))  # pure cyan on the right half
    path = kit.save(img, tmp_path / "cmyk.jpg", quality=95)
    assert mode_of(path) == "CMYK"
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert all(v >= 250 for v in loaded.getpixel((2, 8)))
    red, green, blue = loaded.getpixel((13, 8))
    assert red <= 5 and green >= 250 and blue >= 250


def test_exif_orientation_is_applied(tmp_path, kit):
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 5, 10))  # red band on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = kit.save(img, tmp_path / "rotated.jpg", exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.size == (10, 20)
    assert loaded.getpixel((5, 1))[0] > 200  # the left band is now at the top


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_raises_input_error(tmp_path, kit, fmt):
    data = kit.encode(kit.noise(1, (64, 64)), fmt)
    path = kit.write(tmp_path / f"cut.{fmt.lower()}", data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_image(path)


def test_garbage_empty_and_missing_files_raise_input_error(tmp_path, kit):
    with pytest.raises(InputError, match="not a recognised image"):
        load_image(kit.write(tmp_path / "junk.png", b"definitely not an image"))
    with pytest.raises(InputError, match="empty.png"):
        load_image(kit.write(tmp_path / "empty.png", b""))
    with pytest.raises(InputError, match="does not exist"):
        load_image(tmp_path / "missing.png")


def test_load_from_bytes_names_the_file_in_errors(tmp_path, kit):
    assert load_image(kit.encode(Image.new("RGB", (2, 2), (1, 2, 3)), "PNG")).getpixel((0, 0)) == (1, 2, 3)
    with pytest.raises(InputError, match="named.png"):
        load_image(b"junk", name=tmp_path / "named.png")


def test_parse_color():
    assert parse_color("white") == (255, 255, 255)
    assert parse_color("#102030") == (16, 32, 48)
    assert parse_color(" 1, 2 ,3 ") == (1, 2, 3)
    assert parse_color((4, 5, 6)) == (4, 5, 6)
    for bad in ["notacolour", "1,2", "1,2,300", (1, 2)]:
        with pytest.raises(ConfigError):
            parse_color(bad)


def test_to_square_crop_keeps_the_centre_and_pad_uses_the_background():
    img = Image.new("RGB", (30, 10), (255, 0, 0))
    img.paste((0, 0, 255), (10, 0, 20, 10))  # blue middle third
    cropped = to_square(img, mode="crop")
    assert cropped.size == (10, 10) and set(map(tuple, np.asarray(cropped).reshape(-1, 3).tolist())) == {(0, 0, 255)}
    padded = to_square(img, mode="pad", background="black")
    assert padded.size == (30, 30)
    assert padded.getpixel((15, 0)) == (0, 0, 0) and padded.getpixel((15, 15)) == (0, 0, 255)
    gray = to_square(Image.new("L", (4, 2), 9), mode="pad", background="white")
    assert gray.getpixel((0, 0)) == 255 and gray.getpixel((0, 2)) == 9


def test_resize_is_anti_aliased():
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    small = np.asarray(resize(Image.fromarray(checker), (8, 8)))
    assert small.shape == (8, 8)
    assert np.all(np.abs(small.astype(int) - 127) <= 3)  # nearest-neighbour would give 0 or 255


def test_fit_to_a_non_square_size():
    img = Image.new("RGB", (40, 40), (5, 6, 7))
    assert fit(img, (16, 32), mode="crop").size == (32, 16)
    assert fit(img, (16, 32), mode="resize").size == (32, 16)
    padded = fit(img, (16, 32), mode="pad", background="white")
    assert padded.getpixel((0, 8)) == (255, 255, 255) and padded.getpixel((16, 8)) == (5, 6, 7)
    with pytest.raises(ConfigError):
        fit(img, (8, 8), mode="stretch")  # type: ignore[arg-type]


def test_tensor_round_trip():
    img = Image.fromarray(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3))
    tensor = pil_to_tensor(img)
    assert tensor.dtype == torch.uint8 and tuple(tensor.shape) == (3, 2, 3)
    assert tensor[1, 0, 1].item() == 4  # channel 1 of pixel (row 0, col 1)
    assert np.array_equal(np.asarray(tensor_to_pil(tensor)), np.asarray(img))
    gray = pil_to_tensor(Image.new("L", (2, 2), 7))
    assert tuple(gray.shape) == (1, 2, 2) and tensor_to_pil(gray).mode == "L"
    with pytest.raises(ValueError):
        tensor_to_pil(torch.zeros(3, 2, 2))
