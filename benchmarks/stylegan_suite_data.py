"""Datasets of the StyleGAN quality suite (benchmarks/stylegan_quality.py), all 32 px grayscale, class-labelled,
each split into a training set and held-out real test images.

  digits   scikit-learn's 8x8 digits, Lanczos-upscaled to 28 px, padded to 32; 100 per class train, 797 test
  fashion  Fashion-MNIST (Debian's dataset-fashion-mnist); 100 per class from the training set, 100 per class
           of the t10k set as the test set; 28 px padded to 32
  faces    the demo's scikit-image lfw_subset (100 faces, 100 non-faces, 25 px -> 32); 80 per class train, 20 test
  letters  the set kept aside (issue 22): the letters A-J rendered from the installed DejaVu fonts (22 faces) with a
           random affine distortion and stroke blur; 100 per class train, 100 per class test

Each loader returns (train uint8 [N, 1, 32, 32], train labels int64 [N], test images, test labels, class names).
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
LETTERS = "ABCDEFGHIJ"
Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[str]]


def _pad28(images: np.ndarray) -> np.ndarray:
    """uint8 [N, 28, 28] -> [N, 1, 32, 32] with a 2 px black border."""
    out = np.zeros((len(images), 1, 32, 32), dtype=np.uint8)
    out[:, 0, 2:30, 2:30] = images
    return out


def _per_class(labels: np.ndarray, count: int, classes: int, seed: int) -> np.ndarray:
    order = np.random.RandomState(seed).permutation(len(labels))
    return np.concatenate([order[labels[order] == k][:count] for k in range(classes)])


def _as_split(train_x, train_y, test_x, test_y, names) -> Split:
    t = torch.from_numpy
    return t(train_x), t(train_y.astype(np.int64)), t(test_x), t(test_y.astype(np.int64)), list(names)


def load_digits_split(seed: int = 0) -> Split:
    from stylegan_digits import CLASS_NAMES, load_digit_split

    return (*load_digit_split(seed=seed), list(CLASS_NAMES))


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_fashion_split(seed: int = 0, *, per_class: int = 100, test_per_class: int = 100) -> Split:
    if not FASHION_DIR.exists():
        raise SystemExit(f"{FASHION_DIR} is missing: install Debian's dataset-fashion-mnist.")
    train_x, train_y = _read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz"), _read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz")
    test_x, test_y = _read_idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz"), _read_idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz")
    tr, te = _per_class(train_y, per_class, 10, seed), _per_class(test_y, test_per_class, 10, seed + 1)
    return _as_split(_pad28(train_x[tr]), train_y[tr], _pad28(test_x[te]), test_y[te], FASHION_NAMES)


def load_faces_split(seed: int = 0, *, per_class: int = 80) -> Split:
    from skimage.data import lfw_subset

    faces = lfw_subset()  # [200, 25, 25] in [0, 1]; the first 100 are faces
    images = np.stack([np.asarray(Image.fromarray(np.round(f * 255).astype(np.uint8)).resize((32, 32), Image.LANCZOS))
                       for f in faces])[:, None]
    labels = (np.arange(200) >= 100).astype(np.int64)
    tr = _per_class(labels, per_class, 2, seed)
    te = np.setdiff1d(np.arange(200), tr)
    return _as_split(images[tr], labels[tr], images[te], labels[te], ["faces", "nonfaces"])


def _render_letter(letter: str, font_path: Path, rng: np.random.RandomState) -> np.ndarray:
    """One 32 px glyph, white on black: rendered large, distorted by a random affine map, blurred, downsampled."""
    size = 128
    canvas = Image.new("L", (size, size), 0)
    font = ImageFont.truetype(str(font_path), int(size * rng.uniform(0.55, 0.75)))
    draw = ImageDraw.Draw(canvas)
    box = draw.textbbox((0, 0), letter, font=font)
    draw.text(((size - (box[2] + box[0])) / 2, (size - (box[3] + box[1])) / 2), letter, fill=255, font=font)
    angle, shear = math.radians(rng.uniform(-15, 15)), rng.uniform(-0.3, 0.3)
    sx, sy = rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)
    a = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ np.array([[sx, shear], [0, sy]])
    inv = np.linalg.inv(a)
    centre = np.array([size / 2, size / 2])
    offset = centre - inv @ (centre + rng.uniform(-8, 8, size=2))
    canvas = canvas.transform((size, size), Image.AFFINE, (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1]),
                              resample=Image.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.5)))
    return np.asarray(canvas.resize((32, 32), Image.LANCZOS))


def load_letters_split(seed: int = 0, *, per_class: int = 100, test_per_class: int = 100) -> Split:
    fonts = sorted(p for p in FONT_DIR.glob("DejaVu*.ttf") if "MathTeX" not in p.name)
    if not fonts:
        raise SystemExit(f"no DejaVu fonts under {FONT_DIR}")
    rng = np.random.RandomState(seed + 22)
    count = per_class + test_per_class
    images = np.stack([_render_letter(letter, fonts[rng.randint(len(fonts))], rng)
                       for letter in LETTERS for _ in range(count)])[:, None]
    labels = np.repeat(np.arange(len(LETTERS)), count)
    train = (np.arange(len(labels)) % count) < per_class
    return _as_split(images[train], labels[train], images[~train], labels[~train], list(LETTERS))


LOADERS = {"digits": load_digits_split, "fashion": load_fashion_split, "faces": load_faces_split,
           "letters": load_letters_split}


def export_split(name: str, out: Path) -> None:
    """Write a suite dataset as image folders a user would give the CLI: OUT/train/<class>/NNNN.png and
    OUT/test/<class>/NNNN.png (the held-out real images), for runs of `ganfactory stylegan` and `utility`."""
    train_x, train_y, test_x, test_y, names = LOADERS[name]()
    for part, images, labels in (("train", train_x, train_y), ("test", test_x, test_y)):
        for index, (image, label) in enumerate(zip(images, labels)):
            folder = out / part / names[int(label)]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[0].numpy()).save(folder / f"{index:05d}.png")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a suite dataset as train/ and test/ class folders.")
    parser.add_argument("dataset", choices=sorted(LOADERS))
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    export_split(args.dataset, args.out)
