"""The best checkpoint: a copy of the checkpoint with the best primary metric, never pruned by keep-N.

A Trainable may offer a metric hook (`tick_metrics()` -> {name: value}, lower is better, and `primary_metric`,
the name that decides); the loop calls it every `metrics_ticks` ticks, and when the primary value improves it
saves a checkpoint and copies it to `best.pt` beside the numbered ones, with `best.json` saying which it was.
`best.pt` does not match the ckpt-<step>.pt pattern, so pruning and `load_latest` never see it. The engine
knows nothing of what the metric measures.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
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
    """best.json ({"metric", "value", "step", "done", "unit", "checkpoint"}), or None when absent or unreadable."""
    try:
        return json.loads((Path(model_dir) / BEST_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def improves(value: float, best: float | None) -> bool:
    """Lower is better; a NaN or infinite value never improves."""
    return math.isfinite(value) and (best is None or value < best)


def keep_best(checkpoint: Path, model_dir: Path, record: dict[str, Any]) -> Path:
    """Copy `checkpoint` to model_dir/best.pt (atomically) and write best.json with `record` and its name."""
    target = Path(model_dir) / BEST_FILE
    atomic_write(target, lambda tmp: shutil.copyfile(checkpoint, tmp), needed_bytes=checkpoint.stat().st_size)
    atomic_write_json(Path(model_dir) / BEST_RECORD, {**record, "checkpoint": checkpoint.name})
    log.info("New best %s=%.6g: %s kept as %s.", record.get("metric"), record.get("value"), checkpoint.name, target)
    return target
