"""Reading a folder `stackgan-prepare` wrote, and the reference's image pipeline: crop around the bounding box
(a square of side 1.5 * max(w, h) about its centre, clipped to the image), resize to size * 76/64, then a
random crop back to size and a random horizontal flip at every step."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.data.imageio import load_image
from ganfactory.errors import InputError

LAYOUT = ("images.txt", "bounding_boxes.txt", "train_test_split.txt", "captions.jsonl", "embeddings.npy")
LOAD_SCALE = 76 / 64  # the reference's jitter margin


@dataclass
class PreparedData:
    """The rows of a prepared folder, in its one order. embeddings: float32 [N, C, D]."""

    root: Path
    images: list[str]  # "<class>/<image>.<ext>"
    classes: list[str]
    boxes: list[tuple[float, float, float, float]]
    test: list[bool]
    captions: list[list[str]]
    embeddings: np.ndarray
    encoder: str

    def subset(self, *, test: bool) -> list[int]:
        return [i for i, flag in enumerate(self.test) if flag == test]


def _id_rows(path: Path) -> list[list[str]]:
    rows = [line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if [int(r[0]) for r in rows] != list(range(1, len(rows) + 1)):
        raise InputError(f"{path} is not numbered 1..N in order; run 'ganfactory stackgan-prepare' again.")
    return rows


def _read_boxes(path: Path) -> list[tuple[float, float, float, float]]:
    boxes: list[tuple[float, float, float, float]] = []
    for number, row in enumerate(_id_rows(path), start=1):
        try:
            values = [float(v) for v in row[1].split()] if len(row) == 2 else []
        except ValueError:
            values = []
        if len(values) != 4:
            raise InputError(f"{path} line {number} is not '<id> x y width height'; correct that line or run "
                             "'ganfactory stackgan-prepare' again.")
        boxes.append((values[0], values[1], values[2], values[3]))
    return boxes


def read_prepared(root: Path) -> PreparedData:
    """Raises InputError (one sentence) for a folder that is not a complete, consistent prepared dataset."""
    root = Path(root)
    missing = [name for name in LAYOUT if not (root / name).is_file()]
    if missing:
        raise InputError(f"{root} lacks {', '.join(missing)}; run 'ganfactory stackgan-prepare DATA {root}' first.")
    images = [r[1] for r in _id_rows(root / "images.txt")]
    boxes = _read_boxes(root / "bounding_boxes.txt")
    test = [r[1].strip() == "1" for r in _id_rows(root / "train_test_split.txt")]
    lines = [json.loads(line) for line in (root / "captions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    embeddings = np.load(root / "embeddings.npy", allow_pickle=False)
    sizes = {len(images), len(boxes), len(test), len(lines), len(embeddings)}
    if len(sizes) != 1 or embeddings.ndim != 3:
        raise InputError(f"The files in {root} disagree on the number of images; run 'ganfactory stackgan-prepare' "
                         "again.")
    encoder_file = root / "encoder.json"
    encoder = json.loads(encoder_file.read_text("utf-8"))["name"] if encoder_file.is_file() else ""
    return PreparedData(root=root, images=images, classes=[line["class"] for line in lines], boxes=boxes,
                        test=test, captions=[line["captions"] for line in lines],
                        embeddings=embeddings.astype(np.float32), encoder=encoder)


BOX_SLACK = 1.0  # pixels a box may pass the image's edge by (rounding in the tools that write boxes)


def box_problem(box: tuple[float, ...], size: tuple[int, int]) -> str | None:
    """Why a bounding box (x y width height, pixels) cannot crop an image of `size` (width, height); None when
    it can. A box reaching outside its image is refused, not clipped: it is usually corners (x1 y1 x2 y2) given
    for x y w h, or a box of another image, and one wholly outside left an empty crop that stopped training."""
    width, height = size
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        return "is not four numbers"
    x, y, w, h = box
    if w <= 0 or h <= 0:
        return "has no area (its width and height must be positive)"
    if x < -BOX_SLACK or y < -BOX_SLACK or x + w > width + BOX_SLACK or y + h > height + BOX_SLACK:
        return "reaches outside the image"
    return None


def crop_box(size: tuple[int, int], box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom): the reference's square of half-side 0.75 * max(w, h) about the box centre,
    clipped to the image."""
    width, height = size
    x, y, w, h = box
    r = int(max(w, h) * 0.75)
    cx, cy = int(x + w / 2), int(y + h / 2)
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def load_cropped(path: Path, box: tuple[float, float, float, float], size: int, *, where: str = "") -> torch.Tensor:
    """uint8 [3, L, L], L = round(size * 76/64): the box crop resized with bicubic filtering. Raises InputError
    for a box that does not fit the image (`where`: the file and line that gave the box, for the message)."""
    image = load_image(path)
    problem = box_problem(box, image.size)
    if problem is not None:
        numbers = " ".join(f"{v:g}" for v in box)
        raise InputError(f"{where or 'The bounding box'} gives {path.name} ({image.width}x{image.height} pixels) the "
                         f"box '{numbers}', which {problem}; "
                         "correct that line (x y width height, in pixels) or run 'ganfactory stackgan-prepare' "
                         "again.")
    load = round(size * LOAD_SCALE)
    cropped = image.crop(crop_box(image.size, box)).resize((load, load), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(cropped, dtype=np.uint8).copy()).permute(2, 0, 1)


def image_path(data: PreparedData, index: int) -> Path:
    path = data.root / "images" / data.images[index]
    if not path.is_file():
        raise InputError(f"Image {path} named in {data.root / 'images.txt'} is missing; restore it or prepare again.")
    return path


def load_images(data: PreparedData, indices: list[int], size: int) -> torch.Tensor:
    """uint8 [N, 3, L, L] of the given rows, decoded once (L: the load size of `size`)."""
    boxes = data.root / "bounding_boxes.txt"
    return torch.stack([load_cropped(image_path(data, i), data.boxes[i], size, where=f"{boxes} line {i + 1}")
                        for i in indices])


def random_crop_flip(images: torch.Tensor, size: int, generator: torch.Generator, *, mirror: bool = True
                     ) -> torch.Tensor:
    """uint8 [B, 3, L, L] -> float [B, 3, size, size] in [-1, 1]; one crop offset and flip per batch.
    mirror=False never flips (text, glyphs, anything whose mirror image means something else); the coin is
    still drawn, so the crop offsets follow the same random stream either way."""
    top = int(torch.randint(images.shape[2] - size + 1, (1,), generator=generator))
    left = int(torch.randint(images.shape[3] - size + 1, (1,), generator=generator))
    images = images[:, :, top:top + size, left:left + size]
    if bool(torch.rand(1, generator=generator) < 0.5) and mirror:
        images = images.flip(3)
    return images.float() / 127.5 - 1


def mean_caption_embedding(embeddings: np.ndarray, counts: list[int], how_many: int,
                           generator: torch.Generator) -> torch.Tensor:
    """[B, C, D] -> [B, D]: per row the mean of `how_many` of its first `counts[row]` (real) caption embeddings,
    drawn without replacement when it has that many (the TF StackGAN's 4-caption average)."""
    rows = []
    for row, count in enumerate(counts):
        take = min(how_many, count)
        chosen = torch.randperm(count, generator=generator)[:take].numpy()
        rows.append(embeddings[row, chosen].mean(0))
    return torch.from_numpy(np.stack(rows))
