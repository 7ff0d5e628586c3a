"""Train/test splits of a data folder, and the guard that no test image is also a training image.

The rule (kept simple on purpose): a data folder whose subfolders include both `train/` and `test/` is split.
Training, the class counts behind --balance and the memorisation gate then read `DATA/train/` only (single- or
dual-level below it, as any data folder); `DATA/test/` is held out for `utility` and `evaluate`. Any other
folder is not split and is read whole, as before.

A test image that also sits among the training images (the same bytes, or a near duplicate: perceptual hash
within NEAR_DUPLICATE_BITS bits and a similar mean colour, the rule `prepare --dedupe` uses) would make every
figure measured on the test split look better than it is, so it is an error naming both files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ganfactory.data.dedupe import ImageSignature, NearDuplicateIndex, image_signature
from ganfactory.data.discovery import list_image_files
from ganfactory.data.filecheck import content_digest
from ganfactory.data.imageio import load_image
from ganfactory.errors import InputError

log = logging.getLogger(__name__)

TRAIN_FOLDER = "train"
TEST_FOLDER = "test"
# pHash bits two images may differ by and still count as one picture (prepare's default --dedupe-threshold).
NEAR_DUPLICATE_BITS = 4


@dataclass(frozen=True)
class DataSplit:
    """Where training reads (`train`) and the held-out images (`test`, None when the folder is not split)."""

    root: Path
    train: Path
    test: Path | None

    @property
    def is_split(self) -> bool:
        return self.test is not None


def resolve_split(data: Path) -> DataSplit:
    """DATA/train and DATA/test when DATA holds both folders, else DATA itself (nothing held out).

    Only looks at folder names; raises nothing (a missing folder is reported by discovery later).
    """
    data = Path(data)
    train, test = data / TRAIN_FOLDER, data / TEST_FOLDER
    if train.is_dir() and test.is_dir():
        return DataSplit(root=data, train=train, test=test)
    return DataSplit(root=data, train=data, test=None)


def _signatures(paths: list[Path]) -> dict[Path, tuple[str, ImageSignature | None]]:
    """Content hash and perceptual signature of each readable file; unreadable ones are left to validation."""
    out = {}
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        try:
            signature = image_signature(load_image(data, channels=3, name=path))
        except InputError:
            signature = None
        out[path] = (content_digest(data), signature)
    return out


def require_disjoint_split(split: DataSplit, *, train_files: list[Path] | None = None,
                           near_bits: int = NEAR_DUPLICATE_BITS) -> None:
    """Raise InputError naming the first test image that is an exact or near duplicate of a training image.

    train_files: the training images to compare (None: every image under `split.train`). Nothing happens for
    a folder that is not split. Costs one decode of every image of both splits (a pHash each).
    """
    if split.test is None:
        return
    train = _signatures(train_files if train_files is not None else list_image_files(split.train))
    by_digest = {digest: path for path, (digest, _) in train.items()}
    index = NearDuplicateIndex()
    for path, (_, signature) in train.items():
        if signature is not None:
            index.add(path, signature)
    for test_path, (digest, signature) in _signatures(list_image_files(split.test)).items():
        if digest in by_digest:
            _leak(test_path, by_digest[digest], "the same file as")
        nearest = index.nearest(signature) if signature is not None else None
        if nearest is not None and nearest[1] <= near_bits:
            _leak(test_path, nearest[0], f"a near duplicate ({nearest[1]} of 64 hash bits differ) of")
    log.info("The test split %s shares no image with the training split %s.", split.test, split.train)


def _leak(test_path: Path, train_path: Path, how: str) -> None:
    raise InputError(f"The test image {test_path} is {how} the training image {train_path}; remove one of "
                     "them (a test image seen in training makes every figure measured on the test split too good).")
