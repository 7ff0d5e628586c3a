"""What every operator does with an input folder before training: validate it, pick the usable files, decode."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch

from ganfactory.data.dataset import ImageFolderData
from ganfactory.data.discovery import discover_images
from ganfactory.data.validation import readable_files, validate_dataset
from ganfactory.output.layout import RunFolder
from ganfactory.output.pathtext import name_bytes

log = logging.getLogger(__name__)


def usable_files(data: Path, *, run: RunFolder | None, do_validation: bool, resolution: int | tuple[int, int],
                 min_images: int, report_name: str = "validation.json") -> dict[str, list[Path]]:
    """The files training may read. With validation on, a full report is written to the run folder and an
    unusable dataset stops here with one sentence; with it off, unreadable files are skipped with a warning."""
    if not do_validation:
        return readable_files(discover_images(Path(data)))
    report = validate_dataset(Path(data), resolution=resolution, min_images=min_images)
    if run is not None:
        report.write_json(run.root / report_name)
    for line in report.warnings[:20]:
        log.warning("%s", line)
    report.raise_if_unusable()
    return report.good_files


def squeeze_grayscale(data: ImageFolderData) -> ImageFolderData:
    """Keep one channel when every image is gray: a 1-channel model is a third cheaper and generates gray."""
    images = data.images
    if images.shape[1] == 3 and torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2]):
        data.images = images[:, :1].contiguous()
    return data


def dataset_fingerprint(files: dict[str, list[Path]], root: Path) -> str:
    """Identifies a training set by its classes, relative paths and sizes (tells resume from transfer)."""
    digest = hashlib.sha256()
    for class_name in sorted(files):
        for path in sorted(files[class_name]):
            rel = path.relative_to(root) if path.is_relative_to(root) else path
            digest.update(name_bytes(f"{class_name}\0{rel}\0{path.stat().st_size}\n"))
    return digest.hexdigest()
