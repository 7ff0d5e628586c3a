"""Reading one image file into a canonical 8-bit PIL image, and the geometric helpers around it.

Everything downstream (validation, prepare, the in-memory datasets) sees only mode 'L' or 'RGB',
so every odd storage format is normalised here, once.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image, ImageColor, ImageOps

from ganfactory.errors import ConfigError, InputError

if TYPE_CHECKING:
    import torch

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

# Which PIL formats each extension may legitimately hold. Camera JPEGs often open as MPO.
EXTENSION_FORMATS: dict[str, frozenset[str]] = {
    ".jpg": frozenset({"JPEG", "MPO"}),
    ".jpeg": frozenset({"JPEG", "MPO"}),
    ".png": frozenset({"PNG"}),
    ".bmp": frozenset({"BMP", "DIB"}),
    ".webp": frozenset({"WEBP"}),
    ".tif": frozenset({"TIFF"}),
    ".tiff": frozenset({"TIFF"}),
}

# Pixel modes load_image knows how to bring to 'L' or 'RGB'.
SUPPORTED_MODES: frozenset[str] = frozenset(
    {"1", "L", "P", "PA", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
     "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
)

Color = tuple[int, int, int]
ColorLike = str | Color
FitMode = Literal["crop", "pad", "resize"]

# Exceptions PIL's format plugins raise on malformed data; they are not consistent about it.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
    MemoryError, Image.DecompressionBombError,
)


def as_size(resolution: int | tuple[int, int]) -> tuple[int, int]:
    """A resolution given as one side or as (height, width), checked and returned as (height, width)."""
    size = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
    if len(size) != 2 or not all(isinstance(side, int) and side > 0 for side in size):
        raise ConfigError(f"resolution {resolution!r} is not valid; give a positive integer or (height, width).")
    return size


def is_image_file(path: Path) -> bool:
    """True for a non-hidden file name with one of the supported extensions (any case)."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def parse_color(value: ColorLike) -> Color:
    """Turn 'white', '#rrggbb', 'r,g,b' or an (r, g, b) tuple into an (r, g, b) tuple of ints."""
    if not isinstance(value, str):
        try:
            rgb = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            rgb = ()
        if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
            raise ConfigError(f"background {value!r} is not a colour; give three integers from 0 to 255.")
        return rgb
    text = value.strip()
    try:
        if "," in text:
            return parse_color(tuple(int(part) for part in text.split(",")))  # type: ignore[arg-type]  # length checked there
        return ImageColor.getrgb(text)[:3]
    except (ValueError, ConfigError):
        raise ConfigError(
            f"background {value!r} is not a colour; use a name such as 'white', '#rrggbb' or 'r,g,b'."
        ) from None


class UnreadableImage(InputError):
    """An image file the loader cannot use; `reason` is the short why ("cannot be read (...)")."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def open_image(source: Path | bytes, *, name: Path | None = None) -> Image.Image:
    """Open and fully decode an image (truncation and corrupt pixel data are only detected by load()).

    This is the one decode both the loaders and validation use, so validation's verdict on a file is
    the loader's. Raises UnreadableImage (an InputError) for a missing, undecodable or unsupported file.
    """
    label = name if name is not None else ("(in-memory image)" if isinstance(source, bytes) else source)
    try:
        # `with` closes the file even for multi-frame formats; load() has the pixels in memory by then.
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            img.load()
    except FileNotFoundError:
        raise UnreadableImage(f"image file {label} does not exist; check the path.",
                              reason="no longer exists") from None
    except DECODE_ERRORS as exc:
        reason = f"cannot be read ({describe_decode_error(exc)})"
        raise UnreadableImage(f"image file {label} {reason}; replace or remove it.", reason=reason) from None
    if img.mode not in SUPPORTED_MODES:
        reason = f"has pixel mode {img.mode}, which is not supported"
        raise UnreadableImage(f"image file {label} {reason}; convert it to RGB.", reason=reason)
    return img


def load_image(
    path: Path | bytes,
    *,
    channels: int = 3,
    background: ColorLike = (255, 255, 255),
    name: Path | None = None,
) -> Image.Image:
    """Read an image file as an 8-bit 'L' (channels=1) or 'RGB' (channels=3) image.

    EXIF orientation is applied, 16-bit data is rescaled (not clipped), transparency is flattened
    onto `background`. `path` may also be the file's bytes (with `name` for messages), so a caller
    that already read the file for hashing does not read it twice.
    """
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels}.")
    img = open_image(path, name=name)
    try:
        img = ImageOps.exif_transpose(img)
    except DECODE_ERRORS:
        pass  # a broken EXIF block must not lose an otherwise good image; keep it unrotated
    img = to_8bit(img, background=parse_color(background))
    return img.convert("L" if channels == 1 else "RGB")


def to_8bit(img: Image.Image, *, background: Color) -> Image.Image:
    """Bring any supported mode to 'L' or 'RGB', flattening alpha onto `background`."""
    mode = img.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _high_depth_to_l(img)
    if mode == "1":
        return img.convert("L")
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in img.info:
        return flatten_alpha(img, background=background)
    if mode in ("L", "RGB"):
        return img
    # P without transparency, CMYK, YCbCr, RGBX: PIL's own conversion is exact enough.
    return img.convert("RGB")


def flatten_alpha(img: Image.Image, *, background: Color) -> Image.Image:
    """Composite an image with (any kind of) transparency onto an opaque background colour."""
    rgba = img.convert("RGBA")  # also resolves palette and tRNS transparency, and un-premultiplies RGBa/La
    canvas = Image.new("RGB", rgba.size, background)
    # composite() is exact at the extremes: alpha 0 gives the background, alpha 255 the pixel.
    return Image.composite(rgba.convert("RGB"), canvas, rgba.getchannel("A"))


def _high_depth_to_l(img: Image.Image) -> Image.Image:
    """Rescale 16-bit, 32-bit integer or float grayscale to 8 bits without clipping."""
    values = np.asarray(img).astype(np.float64)
    if img.mode.startswith("I;16"):
        scaled = values / 257.0  # 65535 / 257 == 255 exactly
    elif img.mode == "F" and values.size and values.min() >= 0.0 and values.max() <= 1.0:
        scaled = values * 255.0
    elif img.mode == "I" and values.size and values.min() >= 0 and values.max() <= 65535:
        scaled = values / 257.0  # how PIL stores 16-bit data from some TIFF and older PNG readers
    else:
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def fill_for(img: Image.Image, background: Color) -> int | Color:
    """The background expressed in the image's own mode ('L' takes the colour's luma)."""
    if img.mode == "L":
        return Image.new("RGB", (1, 1), background).convert("L").getpixel((0, 0))  # type: ignore[return-value]
    return background


def to_aspect(
    img: Image.Image, *, aspect: float, mode: Literal["crop", "pad"], background: ColorLike = "white"
) -> Image.Image:
    """Centre-crop or pad an image to the width/height ratio `aspect`."""
    width, height = img.size
    if mode == "crop":
        new_w, new_h = min(width, round(height * aspect)), min(height, round(width / aspect))
        left, top = (width - new_w) // 2, (height - new_h) // 2
        return img.crop((left, top, left + max(new_w, 1), top + max(new_h, 1)))
    if mode == "pad":
        new_w, new_h = max(width, round(height * aspect)), max(height, round(width / aspect))
        canvas = Image.new(img.mode, (new_w, new_h), fill_for(img, parse_color(background)))
        canvas.paste(img, ((new_w - width) // 2, (new_h - height) // 2))
        return canvas
    raise ConfigError(f"mode must be 'crop' or 'pad', got {mode!r}.")


def to_square(img: Image.Image, *, mode: Literal["crop", "pad"] = "crop",
              background: ColorLike = "white") -> Image.Image:
    """Centre-crop to the short side or pad to the long side with `background`."""
    return to_aspect(img, aspect=1.0, mode=mode, background=background)


def resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize to (height, width) with an anti-aliased filter.

    LANCZOS with reducing_gap first box-reduces by an integer factor on large downscales, which is
    both faster and free of aliasing; upscales use plain LANCZOS.
    """
    height, width = size
    if img.size == (width, height):
        return img
    return img.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def fit(
    img: Image.Image, size: tuple[int, int], *, mode: FitMode = "crop", background: ColorLike = "white"
) -> Image.Image:
    """Bring an image to (height, width): crop or pad to the aspect ratio first, or just stretch ('resize')."""
    if mode == "resize":
        return resize(img, size)
    if mode not in ("crop", "pad"):
        raise ConfigError(f"mode must be 'crop', 'pad' or 'resize', got {mode!r}.")
    height, width = size
    return resize(to_aspect(img, aspect=width / height, mode=mode, background=background), size)


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """An 'L' or 'RGB' image as a uint8 tensor [C, H, W]."""
    import torch  # here, not at the top: validate and prepare never need torch

    if img.mode not in ("L", "RGB"):
        raise ValueError(f"pil_to_tensor expects an 'L' or 'RGB' image, got mode {img.mode}.")
    array = np.array(img, dtype=np.uint8, copy=True)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def describe_decode_error(exc: BaseException) -> str:
    """A short, lower-case reason from a PIL exception, without the noisy parts."""
    if isinstance(exc, Image.UnidentifiedImageError):
        return "not a recognised image format"
    # Only a trailing parenthetical is noise ("... (3 bytes not processed)"); one inside the sentence is part of
    # it ("Image size (200000000 pixels) exceeds limit of ... pixels, could be decompression bomb DOS attack").
    text = re.sub(r"\s*\([^()]*\)\s*$", "", str(exc).strip()).strip().rstrip(".")
    if "truncated" in text:
        return "the file is truncated"
    return text or type(exc).__name__
