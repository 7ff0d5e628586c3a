"""Training statistics: stats.jsonl (one line per tick), TensorBoard scalars and progress.json for the job queue."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.layout import PROGRESS_FILE, STATS_FILE

log = logging.getLogger(__name__)


class RunningMeans:
    """Means of the per-step scalars since the last reset (one tick)."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def add(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self._sums[name] += float(value)
            self._counts[name] += 1

    def means(self) -> dict[str, float]:
        return {name: self._sums[name] / self._counts[name] for name in self._sums}

    def reset(self) -> None:
        self._sums.clear()
        self._counts.clear()


class StatsLogger:
    """Writes only on the main process; TensorBoard is optional so a broken install never stops training."""

    def __init__(self, logs_dir: Path, *, enabled: bool = True, tensorboard: bool = True) -> None:
        self.logs_dir = logs_dir
        self.enabled = enabled
        self._health: dict[str, float] = {}
        self._alerts: list[str] = []
        self._writer = self._open_tensorboard() if enabled and tensorboard else None

    def _open_tensorboard(self) -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is a dependency, but a damaged install should not stop a run
            log.warning("TensorBoard is not importable; logging to stats.jsonl only.")
            return None
        try:
            str(self.logs_dir).encode("utf-8")
        except UnicodeEncodeError:  # TensorBoard encodes its file name strictly as UTF-8
            log.warning("TensorBoard cannot write under %s (the path is not valid UTF-8); logging to stats.jsonl "
                        "only.", self.logs_dir)
            return None
        return SummaryWriter(log_dir=str(self.logs_dir))

    def scalars(self, values: dict[str, float], *, step: int) -> None:
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(name, value, global_step=step)

    def tick(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.logs_dir / STATS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._writer is not None:
            self._writer.flush()

    def progress(self, *, unit: str, done: float, total: float, sec_per_unit: float | None, phase: str,
                 stage: str = "", health: dict[str, float] | None = None, alerts: list[str] | None = None) -> None:
        """phase: "training", "generating" or "done"; stage: the training stage's name ("" when one);
        health: the latest tick's health indicators (e.g. sample diversity), kept when None;
        alerts: warnings raised so far (e.g. divergence), accumulated without repeats."""
        if health is not None:
            self._health = dict(health)
        self._alerts += [a for a in alerts or [] if a not in self._alerts]
        if self.enabled:
            write_progress(self.logs_dir, unit=unit, done=done, total=total, sec_per_unit=sec_per_unit, phase=phase,
                           stage=stage, health=self._health, alerts=self._alerts)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def write_progress(logs_dir: Path, *, unit: str, done: float, total: float, sec_per_unit: float | None, phase: str,
                   stage: str = "", health: dict[str, float] | None = None, alerts: list[str] | None = None) -> None:
    """The run's progress.json (read by `jobs list` and the console), written atomically."""
    atomic_write_json(logs_dir / PROGRESS_FILE, {
        "unit": unit, "done": round(done, 4), "total": total, "sec_per_unit": sec_per_unit, "phase": phase,
        "stage": stage, "updated": time.time(), "health": health or {}, "alerts": alerts or []})


def set_phase(logs_dir: Path, phase: str) -> None:
    """Rewrite progress.json's phase (generating, done), keeping the rest; nothing when there is none."""
    update_progress(logs_dir, phase=phase, sec_per_unit=None)


def update_progress(logs_dir: Path, **fields: Any) -> None:
    """Set these top-level fields of progress.json, keeping the rest; nothing when the run has none (a
    `generate` into a fresh folder has no training progress to add to)."""
    path = logs_dir / PROGRESS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    atomic_write_json(path, {**data, **fields, "updated": time.time()})
