"""Reading the user's masks in the formats annotation tools write, one class-index array per image:

* index PNG (mode L or I, or P with a grey palette): pixel value = class index;
* RGB colour mask (what CVAT and Label Studio export): each colour one of classes.json's; a colour mask saved as
  indexed PNG (mode P: PIL's quantize, image editors) is read by its palette colours, not its palette indices;
* LabelMe JSON: polygons (and rectangles) with class names as labels, painted in order over class 0.

Every problem is one sentence naming the file (InputError): wrong size, unknown colour, index or label,
a mask without an image, an image without a mask.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.classes import SegmentationClass
from ganfactory.operators.datasetgan.layout import AnnotationFolder

MASK_SUFFIXES = (".png", ".json")


def read_index_png(path: Path, image: Image.Image, *, num_classes: int) -> np.ndarray:
    values = np.asarray(image if image.mode == "L" else image.convert("I"), dtype=np.int64)
    if values.max(initial=0) >= num_classes or values.min(initial=0) < 0:
        bad = int(values[(values >= num_classes) | (values < 0)][0])
        raise InputError(f"Mask {path} has class index {bad}, but classes.json defines 0..{num_classes - 1}; "
                         "fix the mask or add the class.")
    return values.astype(np.uint8)


def read_colour_png(path: Path, image: Image.Image, *, classes: list[SegmentationClass]) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"), dtype=np.int64)
    keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    lookup = {(r << 16) | (g << 8) | b: c.index for c in classes for r, g, b in [c.color]}
    found = np.unique(keys)
    unknown = [int(k) for k in found if int(k) not in lookup]
    if unknown:
        k = unknown[0]
        raise InputError(f"Mask {path} has the colour {(k >> 16, (k >> 8) & 255, k & 255)} that no class in "
                         f"classes.json has; repaint those pixels or add the colour to classes.json.")
    table = np.zeros(found.size, dtype=np.uint8)
    for i, key in enumerate(found):
        table[i] = lookup[int(key)]
    return table[np.searchsorted(found, keys)]


def read_palette_png(path: Path, image: Image.Image, *, classes: list[SegmentationClass]) -> np.ndarray:
    """An indexed (mode P/PA) PNG means what it shows: each used palette colour is a class colour of
    classes.json. Only a palette that is grey where used (index i stored as (i, i, i), or no colour stored) is
    an index mask. Raises InputError for a used colour that no class has."""
    indices = np.asarray(image, dtype=np.uint8)
    indices = indices[..., 0] if indices.ndim == 3 else indices  # PA: the alpha plane is not a label
    palette = np.asarray(image.getpalette("RGB") or [], dtype=np.int64).reshape(-1, 3)
    used = [int(u) for u in np.unique(indices)]
    colours: dict[int, tuple[int, ...] | None] = {
        u: tuple(int(v) for v in palette[u]) if u < len(palette) else None for u in used}
    by_colour: dict[tuple[int, ...] | None, int] = {tuple(c.color): c.index for c in classes}
    if all(colour in by_colour for colour in colours.values()):
        table = np.zeros(256, dtype=np.uint8)
        for u, colour in colours.items():
            table[u] = by_colour[colour]
        return table[indices]
    strange = [(u, colour) for u, colour in colours.items() if colour is not None and colour != (u, u, u)]
    if strange:
        u, colour = strange[0]
        raise InputError(f"Mask {path} is an indexed PNG whose palette colour {colour} (index {u}) no class in "
                         "classes.json has; repaint those pixels, add the colour to classes.json, or save the mask "
                         "as grayscale (pixel = class index).")
    return read_index_png(path, Image.fromarray(indices, mode="L"), num_classes=len(classes))


def read_labelme(path: Path, *, classes: list[SegmentationClass], size: int) -> np.ndarray:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        shapes, height, width = data["shapes"], int(data["imageHeight"]), int(data["imageWidth"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError):
        raise InputError(f"Mask {path} is not a LabelMe JSON file (shapes, imageHeight, imageWidth); "
                         "export it again from LabelMe.") from None
    if (height, width) != (size, size):
        raise InputError(f"Mask {path} is for a {width}x{height} image, but the samples are {size}x{size}; "
                         "annotate the image in annotation/images at its size.")
    names = {c.name: c.index for c in classes}
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for shape in shapes:
        label, kind = shape.get("label"), shape.get("shape_type") or "polygon"
        if label not in names:
            raise InputError(f"Mask {path} uses the label '{label}' that classes.json does not name; rename it "
                             f"to one of {', '.join(names)} or add it to classes.json.")
        points = [(float(x), float(y)) for x, y in shape["points"]]
        if kind == "rectangle" and len(points) == 2:
            draw.rectangle(points, fill=names[label])
        elif kind == "polygon" and len(points) >= 3:
            draw.polygon(points, fill=names[label])
        else:
            raise InputError(f"Mask {path} has a '{kind}' shape with {len(points)} points labelled '{label}'; "
                             "only polygons (3+ points) and rectangles are read.")
    return np.asarray(canvas, dtype=np.uint8)


def read_mask(path: Path, *, classes: list[SegmentationClass], size: int) -> np.ndarray:
    """uint8 [size, size] class indices of one mask file (.png index/colour/indexed colour, .json LabelMe): the
    one mask reader of `train` and `evaluate`. Raises InputError (one sentence naming the file) for a mask that
    cannot be read, has another size, or holds a colour, index or label that classes.json does not define."""
    if path.suffix.lower() == ".json":
        return read_labelme(path, classes=classes, size=size)
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, SyntaxError):
        raise InputError(f"Mask {path} cannot be read as an image; export it again as PNG.") from None
    if image.size != (size, size):
        raise InputError(f"Mask {path} is {image.size[0]}x{image.size[1]}, but its image is {size}x{size}; "
                         "export the mask at the image's size.")
    if image.mode in ("RGB", "RGBA"):
        return read_colour_png(path, image, classes=classes)
    if image.mode in ("P", "PA"):
        return read_palette_png(path, image, classes=classes)
    if image.mode in ("L", "I", "I;16"):
        return read_index_png(path, image, num_classes=len(classes))
    raise InputError(f"Mask {path} has the image mode {image.mode}; save it as an index (L/P) or RGB PNG.")


def _mask_files(folder: AnnotationFolder) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not folder.masks_dir.is_dir():
        return found
    for path in sorted(folder.masks_dir.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in MASK_SUFFIXES:
            continue
        if path.stem in found:
            raise InputError(f"Masks {found[path.stem]} and {path} annotate the same image; keep one of them.")
        found[path.stem] = path
    return found


def pair_masks(folder: AnnotationFolder) -> list[tuple[str, Path]]:
    """(id, mask path) for every image in annotation/images; an unpaired image or mask is an InputError."""
    images = {p.stem: p for p in sorted(folder.images_dir.glob("*.png"))}
    masks = _mask_files(folder)
    for stem, path in masks.items():
        if stem not in images:
            raise InputError(f"Mask {path} has no image {folder.images_dir / (stem + '.png')}; name it after "
                             "the image it annotates or remove it.")
    for stem, path in images.items():
        if stem not in masks:
            raise InputError(f"Image {path} has no mask in {folder.masks_dir} (.png or LabelMe .json); annotate "
                             "it or delete the image to leave it out.")
    if not images:
        raise InputError(f"{folder.images_dir} holds no images; run 'ganfactory datasetgan sample' first.")
    return [(stem, masks[stem]) for stem in images]


def load_annotations(folder: AnnotationFolder, *, classes: list[SegmentationClass],
                     size: int) -> tuple[list[str], np.ndarray]:
    """(ids, masks uint8 [N, size, size]) of the annotated samples, in id order."""
    pairs = pair_masks(folder)
    masks = np.stack([read_mask(path, classes=classes, size=size) for _, path in pairs])
    return [stem for stem, _ in pairs], masks
