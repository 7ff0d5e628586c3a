"""The work behind `ganfactory validate` and `ganfactory prepare`, for the CLI to call and print.

These functions never print; they log and return the report, whose `summary_lines()` the CLI shows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from ganfactory.data.imageio import ColorLike
from ganfactory.data.prepare import PrepareReport, prepare_dataset
from ganfactory.data.validation import ValidationReport, validate_dataset

logger = logging.getLogger(__name__)


def run_validate(
    data: Path,
    *,
    resolution: int = 256,
    min_images: int = 70,
    json_path: Path | None = None,
    max_imbalance: float = 10.0,
    workers: int | None = None,
) -> ValidationReport:
    """Validate DATA, write the JSON report when asked, and return the report.

    Raises InputError only when there is nothing to report on (missing folder, no image at all);
    an unusable dataset is returned with `usable` False: call `raise_if_unusable()` for the exit code.
    """
    report = validate_dataset(Path(data), resolution=resolution, min_images=min_images,
                              max_imbalance=max_imbalance, workers=workers)
    if json_path is not None:
        report.write_json(Path(json_path))
        logger.info("validation report written to %s", json_path)
    return report


def run_prepare(
    data: Path,
    out: Path,
    *,
    resolution: int = 256,
    mode: Literal["crop", "pad"] = "crop",
    background: ColorLike = "white",
    channels: int = 3,
    dedupe: bool = False,
    dedupe_threshold: int = 4,
    min_images: int = 1,
    workers: int | None = None,
) -> PrepareReport:
    """Prepare DATA into OUT (which also receives prepare_report.json) and return the report."""
    return prepare_dataset(Path(data), Path(out), resolution=resolution, mode=mode, background=background,
                           channels=channels, dedupe=dedupe, dedupe_threshold=dedupe_threshold,
                           min_images=min_images, workers=workers)
