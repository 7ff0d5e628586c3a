"""What the run page shows, read from a run folder that may be missing, half-written or still growing.

Every reader returns something displayable (None, [] or an `error` text) instead of raising, because a
run folder can be deleted or rewritten while its page is open.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SAMPLE = re.compile(r"^(?P<prefix>.*?)(?P<steps>\d+|init)\.png$")
_NOT_CURVES = {"tick", "steps", "stage"}


@dataclass(frozen=True)
class JsonFile:
    data: Any | None  # None: missing or unreadable
    error: str | None = None


def read_json(path: Path) -> JsonFile:
    try:
        return JsonFile(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return JsonFile(None)
    except (OSError, ValueError) as exc:
        return JsonFile(None, f"{path.name} cannot be read right now ({exc}); it may be being written.")


def read_stats(path: Path, *, max_lines: int = 100_000) -> list[dict[str, Any]]:
    """The records of logs/stats.jsonl; a torn or foreign line is skipped."""
    records: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                if number >= max_lines:
                    break
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
    except OSError:
        return []
    return records


def run_alerts(root: Path, records: list[dict[str, Any]], *, limit: int = 20) -> list[str]:
    """The training's warnings (collapse watch, divergence): logs/progress.json's alerts, else those in the
    stats records; text only, without repeats, the latest `limit`."""
    progress = read_json(root / "logs" / "progress.json").data
    found = progress.get("alerts") if isinstance(progress, dict) else None
    if not isinstance(found, list):
        found = [a for r in records if isinstance(r.get("alerts"), list) for a in r["alerts"]]
    alerts = list(dict.fromkeys(str(a) for a in found if isinstance(a, (str, int, float))))
    return alerts[-limit:]


def curve_series(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Plot data: {"x_name", "x": [...], "series": {name: [...]}} with x the unit (kimg/epoch) of the records,
    one series per numeric field (None where a record lacks it); stages are concatenated in file order."""
    unit = next((key for key in ("kimg", "epoch") if any(key in r for r in records)), "tick")
    rows = [r for r in records if isinstance(r.get(unit), (int, float))]
    names = sorted({k for r in rows for k, v in r.items()
                    if k not in _NOT_CURVES and k != unit and isinstance(v, (int, float)) and not isinstance(v, bool)})
    return {"x_name": unit, "x": [r[unit] for r in rows],
            "series": {name: [_number(r.get(name)) for r in rows] for name in names}}


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:  # NaN -> gap
        return float(value)
    return None


@dataclass(frozen=True)
class SampleFrame:
    path: str  # relative to the run folder
    steps: int  # -1 for the initial grid
    label: str
    at: float | None = None  # kimg or epoch when the grid was written (0 for the initial grid)


def sample_timeline(root: Path, records: list[dict[str, Any]]) -> list[SampleFrame]:
    """The training grids (samples/<prefix><steps>.png) in training order, labelled with kimg/epoch from stats."""
    unit_at = {r["steps"]: r for r in records if isinstance(r.get("steps"), int)}
    frames = []
    try:
        # Written in training order; a later stage's step counter may start again, so order by time.
        files = sorted((root / "samples").glob("*.png"), key=lambda p: (_mtime(p), p.name))
    except OSError:
        return []
    for path in files:
        match = _SAMPLE.match(path.name)
        if not match:
            continue
        steps = -1 if match["steps"] == "init" else int(match["steps"])
        record = unit_at.get(steps, {})
        unit = next((k for k in ("kimg", "epoch") if k in record), None)
        label = "initial" if steps < 0 else f"{unit} {record[unit]:g}" if unit else f"step {steps}"
        prefix = match["prefix"].rstrip("_")
        at = 0.0 if steps < 0 else float(record[unit]) if unit else None
        frames.append(SampleFrame(path=f"samples/{path.name}", steps=steps, at=at,
                                  label=f"{prefix} {label}".strip() if prefix not in ("", "fakes") else label))
    return frames


def animations(root: Path) -> list[str]:
    try:
        return [f"samples/{p.name}" for p in sorted((root / "samples").glob("*.gif"))]
    except OSError:
        return []


@dataclass(frozen=True)
class CheckpointFile:
    path: str
    size_mb: float
    latest: bool
    best: bool


def checkpoints(root: Path) -> list[CheckpointFile]:
    """Checkpoints and exported models under model/ (stage folders included), newest first."""
    model = root / "model"
    try:
        files = [p for p in model.rglob("*") if p.is_file() and p.suffix in (".pt", ".onnx", ".safetensors")]
    except OSError:
        return []
    folders = [model, *[p for p in model.iterdir() if p.is_dir()]] if model.is_dir() else []
    latest = {_pointer(folder / "latest") for folder in folders}
    # model/best: the pointer the metrics issue keeps for the best checkpoint (or a file named *best*)
    best = {_pointer(folder / "best") for folder in folders} | {p.resolve() for p in files if "best" in p.name}
    result = []
    for path in sorted(files, key=_mtime, reverse=True):
        try:
            size = path.stat().st_size / 2**20
        except OSError:
            continue
        result.append(CheckpointFile(path=str(path.relative_to(root)), size_mb=round(size, 2),
                                     latest=path.resolve() in latest, best=path.resolve() in best))
    return result


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _pointer(path: Path) -> Path | None:
    """What a `latest` pointer names: a symlink's target or a text file holding a file name."""
    try:
        if path.is_symlink():
            return path.resolve()
        if path.is_file():
            return (path.parent / path.read_text(encoding="utf-8").strip()).resolve()
    except OSError:
        return None
    return None


def metric_rows(metrics: Any) -> list[tuple[str, str]]:
    """metrics.json flattened to (name, value) rows: figures with intervals read "12.3 [11.0, 13.9]"."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, dict) and "value" in value and isinstance(value["value"], (int, float)):
            low, high = value.get("low"), value.get("high")
            interval = f" [{low:.4g}, {high:.4g}]" if isinstance(low, (int, float)) and isinstance(high, (int, float)) else ""
            rows.append((prefix, f"{value['value']:.4g}{interval}"))
        elif isinstance(value, dict) and depth < 3:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner, depth + 1)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((prefix, f"{value:.4g}"))

    if isinstance(metrics, dict):
        for key in ("overall", "per_class", "memorisation"):
            if key in metrics:
                walk(key, metrics[key], 0)
        if not rows:
            walk("", metrics, 0)
    return rows[:200]
