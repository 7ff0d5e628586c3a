"""Read the engine's progress file (output.layout.RunFolder.progress_path) and turn it into the progress and ETA
columns."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from ganfactory.output.layout import RunFolder

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Progress:
    unit: str  # "kimg" or "epoch"
    done: float
    total: float
    sec_per_unit: float | None
    phase: str  # "training", "generating" or "done"
    updated: float
    stage: str = ""  # the training stage ("" for an operator that trains in one stage)


def read_progress(run_folder: Path | None) -> Progress | None:
    """The run's latest progress, or None when there is none yet or it cannot be read right now."""
    if run_folder is None:
        return None
    path = RunFolder(run_folder).progress_path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        speed = data.get("sec_per_unit")
        return Progress(
            unit=str(data["unit"]),
            done=float(data["done"]),
            total=float(data["total"]),
            sec_per_unit=None if speed is None else float(speed),
            phase=str(data.get("phase", "training")),
            updated=float(data.get("updated", 0.0)),
            stage=str(data.get("stage") or ""),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Display only: a half-written or foreign file must not break `jobs list`.
        log.debug("Ignoring unreadable %s: %s", path, exc)
        return None


def progress_text(progress: Progress | None) -> str:
    """'12.3/300 kimg', 'stage2 3/10 epoch'; the phase is appended once training is over."""
    if progress is None:
        return "-"
    text = f"{_number(progress.done)}/{_number(progress.total)} {progress.unit}"
    text = f"{progress.stage} {text}" if progress.stage else text
    return text if progress.phase == "training" else f"{text} ({progress.phase})"


def eta_seconds(progress: Progress | None, *, now: float) -> float | None:
    """Seconds of training left, from the engine's measured speed; None when unknown."""
    if progress is None or progress.phase != "training" or not progress.sec_per_unit:
        return None
    remaining = max(progress.total - progress.done, 0.0) * progress.sec_per_unit
    # The file is written once per tick; count the time since then as already spent.
    return max(remaining - max(now - progress.updated, 0.0), 0.0)


def duration_text(seconds: float | None) -> str:
    """'1h02m', '5m30s', '45s'; '-' when unknown."""
    if seconds is None or math.isnan(seconds):
        return "-"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}d{hours % 24:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
