"""Reading a folder `stackgan-prepare` wrote, and the reference's image pipeline: crop around the bounding box
(a square of side 1.5 * max(w, h) about its centre, clipped to the image), resize to size * 76/64, then a
random crop back to size and a random horizontal flip at every step."""

from __future__ import annotations

import json
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


def read_prepared(root: Path) -> PreparedData:
    """Raises InputError (one sentence) for a folder that is not a complete, consistent prepared dataset."""
    root = Path(root)
    missing = [name for name in LAYOUT if not (root / name).is_file()]
    if missing:
        raise InputError(f"{root} lacks {', '.join(missing)}; run 'ganfactory stackgan-prepare DATA {root}' first.")
    images = [r[1] for r in _id_rows(root / "images.txt")]
    boxes = [tuple(float(v) for v in r[1].split()) for r in _id_rows(root / "bounding_boxes.txt")]
    test = [r[1].strip() == "1" for r in _id_rows(root / "train_test_split.txt")]
    lines = [json.loads(line) for line in (root / "captions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    embeddings = np.load(root / "embeddings.npy", allow_pickle=False)
    sizes = {len(images), len(boxes), len(test), len(lines), len(embeddings)}
    if len(sizes) != 1 or embeddings.ndim != 3:
        raise InputError(f"The files in {root} disagree on the number of images; run 'ganfactory stackgan-prepare' "
                         "again.")
    encoder_file = root / "encoder.json"
    encoder = json.loads(encoder_file.read_text("utf-8"))["name"] if encoder_file.is_file() else ""
    return PreparedData(root=root, images=images, classes=[line["class"] for line in lines], boxes=boxes,  # type: ignore[arg-type]
                        test=test, captions=[line["captions"] for line in lines],
                        embeddings=embeddings.astype(np.float32), encoder=encoder)


def crop_box(size: tuple[int, int], box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom): the reference's square of half-side 0.75 * max(w, h) about the box centre,
    clipped to the image."""
    width, height = size
    x, y, w, h = box
    r = int(max(w, h) * 0.75)
    cx, cy = int(x + w / 2), int(y + h / 2)
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def load_cropped(path: Path, box: tuple[float, float, float, float], size: int) -> torch.Tensor:
    """uint8 [3, L, L], L = round(size * 76/64): the box crop resized with bicubic filtering."""
    image = load_image(path)
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
    return torch.stack([load_cropped(image_path(data, i), data.boxes[i], size) for i in indices])


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
