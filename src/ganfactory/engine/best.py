"""The best checkpoint: a copy of the checkpoint with the best primary metric, never pruned by keep-N.

A Trainable may offer a metric hook (`tick_metrics()` -> {name: value}, and `primary_metric`, a PrimaryMetric that
names the value that decides and whether higher or lower is better); the loop calls it every `metrics_ticks` ticks,
and when the primary value improves it
saves a checkpoint and copies it to `best.pt` beside the numbered ones, with `best.json` saying which it was.
`best.pt` does not match the ckpt-<step>.pt pattern, so pruning and `load_latest` never see it. The engine
knows nothing of what the metric measures.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganfactory.output.atomic import atomic_write, atomic_write_json

log = logging.getLogger(__name__)

BEST_FILE = "best.pt"
BEST_RECORD = "best.json"


def best_checkpoint(model_dir: Path) -> Path | None:
    """model_dir/best.pt when a metric ever chose one, else None."""
    path = Path(model_dir) / BEST_FILE
    return path if path.is_file() else None


def read_best(model_dir: Path) -> dict[str, Any] | None:
    """best.json ({"metric", "higher_is_better", "value", "step", "done", "unit", "checkpoint"}), or None when absent
    or unreadable."""
    try:
        return json.loads((Path(model_dir) / BEST_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class PrimaryMetric:
    """The training metric that picks the best checkpoint: its key in `tick_metrics()`'s dict and its direction
    (FID and KID: lower is better; an accuracy or a precision: higher is better)."""

    name: str
    higher_is_better: bool = False

    def improves(self, value: float, best: float | None) -> bool:
        """Whether `value` beats `best` (None: nothing yet) in this metric's direction; a NaN or infinite value
        never improves."""
        if not math.isfinite(value):
            return False
        if best is None:
            return True
        return value > best if self.higher_is_better else value < best

    def worse(self, value: float, previous: float) -> bool:
        """Whether `value` is worse than `previous` in this metric's direction (NaN or infinite: worse)."""
        if not math.isfinite(value):
            return True
        return value < previous if self.higher_is_better else value > previous


def primary_metric_of(trainable: object) -> PrimaryMetric | None:
    """The trainable's `primary_metric` (None: no metric picks a best checkpoint). A plain name, as plugins written
    before the direction was declared give, means lower is better. TypeError for anything else."""
    declared = getattr(trainable, "primary_metric", None)
    if declared is None or isinstance(declared, PrimaryMetric):
        return declared
    if isinstance(declared, str):
        return PrimaryMetric(declared)
    raise TypeError(f"primary_metric must be a PrimaryMetric or a metric name, not {type(declared).__name__}.")


def keep_best(checkpoint: Path, model_dir: Path, record: dict[str, Any]) -> Path:
    """Copy `checkpoint` to model_dir/best.pt (atomically) and write best.json with `record` and its name."""
    target = Path(model_dir) / BEST_FILE
    atomic_write(target, lambda tmp: shutil.copyfile(checkpoint, tmp), needed_bytes=checkpoint.stat().st_size)
    atomic_write_json(Path(model_dir) / BEST_RECORD, {**record, "checkpoint": checkpoint.name})
    log.info("New best %s=%.6g: %s kept as %s.", record.get("metric"), record.get("value"), checkpoint.name, target)
    return target
