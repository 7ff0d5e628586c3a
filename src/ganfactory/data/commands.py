"""The work behind `ganfactory validate` and `ganfactory prepare`, for the CLI to call and print.

These functions never print; they log and return the report, whose `summary_lines()` the CLI shows.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ganfactory.data.validation import ValidationReport, validate_dataset
from ganfactory.output.overlap import refuse_overlap
from ganfactory.output.writable import require_writable_output

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
    refuse_overlap(inputs=[Path(data)], outputs=[Path(json_path)] if json_path is not None else [],
                   command="validate --json")
    if json_path is not None:
        require_writable_output(Path(json_path).parent)  # before validating every file
    report = validate_dataset(Path(data), resolution=resolution, min_images=min_images,
                              max_imbalance=max_imbalance, workers=workers)
    if json_path is not None:
        report.write_json(Path(json_path))
        logger.info("validation report written to %s", json_path)
    return report

