"""DatasetGAN annotation folders: OUT/annotation/images/<id>.png to paint, OUT/annotation/classes.json (the
classes: index, name, colour) and the painted masks OUT/annotation/masks/<id>.png as index PNGs (one 8-bit
channel, pixel value = class index), the format `datasetgan train` reads.

Uploaded masks are checked before anything is written: a PNG, not larger than the limit, the image's size,
only known class indices; then written atomically as an 8-bit grayscale PNG.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.annotations import read_palette_png
from ganfactory.operators.datasetgan.classes import SegmentationClass
from ganfactory.output.annotation import AnnotationFolder as DatasetGANFolder
from ganfactory.output.atomic import atomic_write

ANNOTATION = "annotation"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class LabelClass:
    index: int
    name: str
    colour: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.colour)


def _colour(value: object, where: str) -> tuple[int, int, int]:
    match = _HEX.match(value) if isinstance(value, str) else None
    if match:
        digits = match.group(1)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(v, int) and 0 <= v <= 255
                                                                    for v in value):
        return int(value[0]), int(value[1]), int(value[2])
    raise InputError(f"{where} has the colour {value!r}; write it as [r, g, b] (0-255) or '#rrggbb'.")


def read_classes(folder: Path) -> list[LabelClass]:
    """The classes of an annotation folder, sorted by index. classes.json holds a list of
    {"index", "name", "colour"} objects (or {"classes": [...]}; "color" is read too).
    Raises InputError naming the problem."""
    path = folder / "classes.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; run 'ganfactory datasetgan sample' to write it.") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read as JSON ({exc}); fix or rewrite it.") from None
    entries = data.get("classes") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path} must hold a list of classes with index, name and colour.")
    classes = []
    for number, entry in enumerate(entries):
        where = f"Class {number} of {path}"
        if not isinstance(entry, dict) or not isinstance(entry.get("index"), int) or not 0 <= entry["index"] <= 255:
            raise InputError(f"{where} needs an integer 'index' from 0 to 255.")
        colour = entry.get("colour", entry.get("color"))
        classes.append(LabelClass(index=entry["index"], name=str(entry.get("name", entry["index"])),
                                  colour=_colour(colour, where)))
    if len({c.index for c in classes}) != len(classes):
        raise InputError(f"{path} gives two classes the same index; give each class its own index.")
    return sorted(classes, key=lambda c: c.index)


@dataclass(frozen=True)
class AnnotationFolder(DatasetGANFolder):
    """The DatasetGAN sample folder's layout, plus what the annotation page asks of it."""

    def image_ids(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.images_dir.glob("*.png") if _ID.match(p.stem))
        except OSError:
            return []

    def image_path(self, image_id: str) -> Path:
        if not _ID.match(image_id) or not (self.images_dir / f"{image_id}.png").is_file():
            raise InputError(f"There is no image '{image_id}' in {self.images_dir}.")
        return self.images_dir / f"{image_id}.png"

    def mask_path(self, image_id: str) -> Path:
        return self.masks_dir / f"{image_id}.png"

    def annotated(self) -> set[str]:
        return {image_id for image_id in self.image_ids() if self.mask_path(image_id).is_file()}


def annotation_folder(run: Path) -> AnnotationFolder | None:
    folder = AnnotationFolder(Path(run) / ANNOTATION)
    return folder if folder.images_dir.is_dir() else None


def decode_mask(data: bytes, *, size: tuple[int, int], classes: list[LabelClass], max_bytes: int) -> np.ndarray:
    """An uploaded mask as class indices, uint8 [H, W]. Accepts an 8-bit grayscale or palette PNG (pixel =
    index) or an RGB(A) PNG whose pixels are gray (r = g = b = index, opaque), which a browser canvas writes.
    size: (width, height) of the image. Raises InputError naming the problem."""
    if len(data) > max_bytes:
        raise InputError(f"The mask is {len(data)} bytes, over the limit of {max_bytes}; send a PNG mask of the "
                         "image's size.")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InputError("The mask is not a PNG file; save it as an index PNG (pixel value = class index).")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only: the size is known before any pixel is decoded
    except Exception as exc:  # Pillow raises many types for damaged files
        raise InputError(f"The mask PNG cannot be decoded ({exc}); save it again.") from None
    if image.size != size:  # checked before load(): a small PNG can declare 13000x13000 pixels (a decompression bomb)
        raise InputError(f"The mask is {image.size[0]}x{image.size[1]} but its image is {size[0]}x{size[1]}; "
                         "paint or export it at the image's size.")
    try:
        image.load()
    except Exception as exc:
        raise InputError(f"The mask PNG cannot be decoded ({exc}); save it again.") from None
    indices = _indices(image, classes)
    known = {c.index for c in classes}
    unknown = sorted(set(np.unique(indices).tolist()) - known)
    if unknown:
        raise InputError(f"The mask holds class indices {unknown[:8]} that classes.json does not list "
                         f"(known: {sorted(known)}).")
    return indices


def _indices(image: Image.Image, classes: list[LabelClass]) -> np.ndarray:
    if image.mode in ("P", "PA"):  # an indexed PNG means the colours it shows, as in `datasetgan train`
        return read_palette_png(Path("The uploaded mask"), image, classes=[
            SegmentationClass(index=c.index, name=c.name, color=c.colour) for c in classes])
    if image.mode == "L":
        return np.asarray(image, dtype=np.uint8)
    if image.mode in ("RGB", "RGBA"):
        pixels = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        if (pixels[..., 3] != 255).any() or (pixels[..., 0] != pixels[..., 1]).any() or \
                (pixels[..., 0] != pixels[..., 2]).any():
            raise InputError("The RGB mask is not an index mask (pixels must be opaque gray, value = class index).")
        return pixels[..., 0].copy()
    raise InputError(f"The mask has the PNG mode {image.mode}; use 8-bit grayscale or palette (pixel = class index).")


def save_mask(folder: AnnotationFolder, image_id: str, indices: np.ndarray) -> Path:
    """Write masks/<id>.png (8-bit grayscale, value = class index) atomically."""
    path = folder.mask_path(image_id)
    image = Image.fromarray(np.ascontiguousarray(indices, dtype=np.uint8))  # 2-D uint8: mode L
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
