"""The image + mask sets `datasetgan evaluate` trains and scores on, read into memory at one side length:

* annotated: OUT/annotation/images + masks (the three annotation formats, read by annotations.py);
* generated: the pairs that OUT's manifest lists (written by `datasetgan generate`);
* test: DIR/images/*.png + DIR/masks/<name>.(png|json), real annotated images in any annotation format.

Images are read by the shared reader (data/imageio.py) as 8-bit RGB and scaled bilinearly, masks by nearest
neighbour. Every problem is one InputError
sentence naming the file or folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.data.imageio import load_image
from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.annotations import pair_masks, read_mask
from ganfactory.operators.datasetgan.classes import SegmentationClass
from ganfactory.operators.datasetgan.layout import AnnotationFolder, annotation_folder
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import iter_manifest


@dataclass(frozen=True)
class PairSet:
    """images uint8 [N, 3, S, S] (RGB), masks uint8 [N, S, S] (class indices)."""

    images: torch.Tensor
    masks: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __add__(self, other: PairSet) -> PairSet:
        return PairSet(images=torch.cat([self.images, other.images]), masks=torch.cat([self.masks, other.masks]))


def _open(path: Path) -> Image.Image:
    """An image as 8-bit RGB by the shared reader (data/imageio.py: 16-bit rescaled, transparency flattened on
    white, EXIF orientation applied); InputError for an unreadable or non-square one."""
    image = load_image(path, channels=3)
    if image.size[0] != image.size[1]:
        raise InputError(f"Image {path} is {image.size[0]}x{image.size[1]}; crop it square (the evaluation "
                         "scales square images).")
    return image


def image_side(path: Path) -> int:
    """The side in pixels of a square image file."""
    return _open(path).size[0]


def _pair(image_path: Path, mask_path: Path, *, classes: list[SegmentationClass],
          size: int) -> tuple[np.ndarray, np.ndarray]:
    image = _open(image_path)
    mask = read_mask(mask_path, classes=classes, size=image.size[0])  # the mask must fit its own image
    if image.size[0] != size:
        image = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        mask = np.asarray(Image.fromarray(mask, mode="L").resize((size, size), Image.Resampling.NEAREST))
    return np.asarray(image.convert("RGB")).transpose(2, 0, 1), mask


def _stack(pairs: list[tuple[np.ndarray, np.ndarray]]) -> PairSet:
    return PairSet(images=torch.from_numpy(np.stack([p[0] for p in pairs])),
                   masks=torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.uint8)))


def _read_folder(folder: AnnotationFolder, *, classes: list[SegmentationClass], size: int) -> PairSet:
    pairs = pair_masks(folder)
    return _stack([_pair(folder.images_dir / f"{stem}.png", mask, classes=classes, size=size) for stem, mask in pairs])


def annotated_pairs(out: Path, *, classes: list[SegmentationClass], size: int) -> PairSet:
    """The user's annotated samples of OUT (images and masks of OUT/annotation)."""
    return _read_folder(annotation_folder(out), classes=classes, size=size)


def annotated_side(out: Path) -> int:
    """The side of OUT's annotated images (the generator's resolution); InputError when there are none."""
    folder = annotation_folder(out)
    images = sorted(folder.images_dir.glob("*.png")) if folder.images_dir.is_dir() else []
    if not images:
        raise InputError(f"{folder.images_dir} holds no images; run 'ganfactory datasetgan sample' first.")
    return image_side(images[0])


def generated_pairs(out: Path, *, classes: list[SegmentationClass], size: int) -> PairSet:
    """The pairs OUT's manifest lists; InputError when `datasetgan generate` has not written any."""
    manifest = RunFolder(Path(out)).manifest_path
    entries = list(iter_manifest(manifest)) if manifest.is_file() else []
    if not entries:
        raise InputError(f"{out} has no generated pairs ({manifest} lists none); run 'ganfactory datasetgan "
                         f"generate {out} --num N' first.")
    pairs = []
    for entry in entries:
        masks = [a["annotation-loc"] for a in entry.get("annotation", []) if a.get("annotation-loc")]
        if not masks:
            raise InputError(f"{manifest} lists {entry['source']} without a mask; it was not written by "
                             "'datasetgan generate': generate the pairs again.")
        pairs.append(_pair(Path(entry["source"]), Path(masks[0]), classes=classes, size=size))
    return _stack(pairs)


def real_test_pairs(folder: Path, *, classes: list[SegmentationClass], size: int) -> PairSet:
    """Real annotated test images: DIR/images/*.png with DIR/masks/<name>.png or .json."""
    images = Path(folder) / "images"
    if not images.is_dir() or not any(images.glob("*.png")):
        raise InputError(f"{images} holds no PNG images; put the real test images there and their masks in "
                         f"{Path(folder) / 'masks'}.")
    return _read_folder(AnnotationFolder(Path(folder)), classes=classes, size=size)
