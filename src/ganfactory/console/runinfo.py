"""What the run page shows, read from a run folder that may be missing, half-written or still growing.

Every reader returns something displayable (None, [] or an `error` text) instead of raising, because a
run folder can be deleted or rewritten while its page is open.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganfactory.output.layout import LATEST_POINTER, RunFolder

log = logging.getLogger(__name__)

_SAMPLE = re.compile(r"^(?P<prefix>.*?)(?P<steps>\d+|init)\.png$")
_NOT_CURVES = {"tick", "steps", "stage", "time"}
MAX_BUCKETS = 500  # curves sent to the browser: at most 1,000 points a series, more than a chart's pixels


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


def read_stats(path: Path) -> list[dict[str, Any]]:
    """The records of logs/stats.jsonl, every line of it; a torn or foreign line is skipped. Blocking: call it
    through `StatsCache` (cached by size and mtime) from a thread, never inside the event loop."""
    records: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
    except OSError:
        return []
    return records


@dataclass(frozen=True)
class ParsedStats:
    """What the pages need of one stats.jsonl, computed once per version of the file."""

    curves: dict[str, Any]  # `curve_series`, downsampled for the browser
    by_steps: dict[int, dict[str, Any]]  # the record of each step count (labels the sample grids)
    alerts: list[str]  # the ticks' warnings (collapse watch, divergence), in order

    @property
    def has_curves(self) -> bool:
        return bool(self.curves["x"])


class StatsCache:
    """stats.jsonl files, parsed again only when a file's (size, mtime) changed: the run page, its curves and
    every poll of a running job read the same file, and 100,000 lines take about a second to parse and plot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: dict[Path, tuple[tuple[int, int], ParsedStats]] = {}

    def parsed(self, path: Path) -> ParsedStats:
        """Blocking (reads the file when it changed): call it from the thread pool."""
        try:
            stat = path.stat()
            stamp = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            stamp = (-1, 0)
        with self._lock:
            cached = self._cached.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        records = read_stats(path)
        parsed = ParsedStats(curves=downsample(curve_series(records)),
                             by_steps={r["steps"]: r for r in records if isinstance(r.get("steps"), int)},
                             alerts=[str(a) for r in records if isinstance(r.get("alerts"), list) for a in r["alerts"]])
        with self._lock:
            self._cached[path] = (stamp, parsed)
        return parsed


def run_alerts(root: Path, stats: ParsedStats, *, limit: int = 20) -> list[str]:
    """The training's warnings (collapse watch, divergence): the progress file's alerts, else those in the
    stats records; text only, without repeats, the latest `limit`."""
    progress = read_json(RunFolder(root).progress_path).data
    found = progress.get("alerts") if isinstance(progress, dict) else None
    if not isinstance(found, list):
        found = stats.alerts
    alerts = list(dict.fromkeys(str(a) for a in found if isinstance(a, (str, int, float))))
    return alerts[-limit:]


def curve_series(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Plot data: {"x_name", "x": [...], "series": {name: [...]}} with x the unit (kimg/epoch) of the records,
    one series per numeric field (None where a record lacks it); stages are concatenated in file order. When the
    records carry the engine's wall clock, "time" holds it beside x (seconds since the epoch, None where a record
    has none: lines written before the field existed), the charts' alternative x axis."""
    unit = next((key for key in ("kimg", "epoch") if any(key in r for r in records)), "tick")
    rows = [r for r in records if isinstance(r.get(unit), (int, float))]
    names = sorted({k for r in rows for k, v in r.items()
                    if k not in _NOT_CURVES and k != unit and isinstance(v, (int, float)) and not isinstance(v, bool)})
    curves = {"x_name": unit, "x": [r[unit] for r in rows],
              "series": {name: [_number(r.get(name)) for r in rows] for name in names}}
    if any(_number(r.get("time")) is not None for r in rows):
        curves["time"] = [_number(r.get("time")) for r in rows]
    return curves


def downsample(curves: dict[str, Any], *, buckets: int = MAX_BUCKETS) -> dict[str, Any]:
    """`curves` (as from `curve_series`) with at most 2 * `buckets` points: each bucket of consecutive records
    keeps its first x with every series' minimum and its last x with every series' maximum, so spikes and the
    envelope survive while the browser gets a few hundred KB instead of megabytes (a 100,000-tick run drew a solid
    band before). Curves with few points are returned as they are."""
    x = curves["x"]
    if len(x) <= 2 * buckets:
        return curves
    edges = [round(i * len(x) / buckets) for i in range(buckets + 1)]
    spans = [(a, b) for a, b in zip(edges, edges[1:]) if b > a]
    new_x = [value for a, b in spans for value in (x[a], x[b - 1])]
    series = {name: [value for a, b in spans for value in _min_max(values[a:b])]
              for name, values in curves["series"].items()}
    result = {**curves, "x": new_x, "series": series, "downsampled_from": len(x)}
    if "time" in curves:  # the wall clock of the points kept, so either axis shows the same points
        result["time"] = [curves["time"][i] for a, b in spans for i in (a, b - 1)]
    return result


def _min_max(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    return (min(present), max(present)) if present else (None, None)


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


def sample_timeline(root: Path, by_steps: dict[int, dict[str, Any]]) -> list[SampleFrame]:
    """The training grids (samples/<prefix><steps>.png) in training order, labelled with kimg/epoch from the
    stats record of their step count (`ParsedStats.by_steps`)."""
    frames = []
    try:
        # Written in training order; a later stage's step counter may start again, so order by time.
        files = sorted(RunFolder(root).samples_dir.glob("*.png"), key=lambda p: (_mtime(p), p.name))
    except OSError:
        return []
    for path in files:
        match = _SAMPLE.match(path.name)
        if not match:
            continue
        steps = -1 if match["steps"] == "init" else int(match["steps"])
        record = by_steps.get(steps, {})
        unit = next((k for k in ("kimg", "epoch") if k in record), None)
        label = "initial" if steps < 0 else f"{unit} {record[unit]:g}" if unit else f"step {steps}"
        prefix = match["prefix"].rstrip("_")
        at = 0.0 if steps < 0 else float(record[unit]) if unit else None
        frames.append(SampleFrame(path=f"samples/{path.name}", steps=steps, at=at,
                                  label=f"{prefix} {label}".strip() if prefix not in ("", "fakes") else label))
    return frames


GRID_ROWS = 16  # operators.stylegan.models.GRID_ROWS (imported there with torch): classes in a progress grid


def grid_row_labels(config: Any) -> list[str]:
    """The class of each row of a StyleGAN run's progress grids (one row per class, the same seeds in every row),
    [] when the grids are not one row per class (an unconditional run, another operator). Runs record the rows
    in config.json (resolved.grid_rows); older ones only their classes, conditional when there are two or more."""
    if not isinstance(config, dict) or config.get("operator") != "stylegan":
        return []
    resolved = config.get("resolved")
    resolved = resolved if isinstance(resolved, dict) else {}
    rows = resolved.get("grid_rows")
    if rows is None:
        classes = resolved.get("classes")
        rows = classes[:GRID_ROWS] if isinstance(classes, list) and len(classes) >= 2 else []
    return [str(name) for name in rows] if isinstance(rows, list) else []


def animations(root: Path) -> list[str]:
    try:
        samples = RunFolder(root).samples_dir
        return [p.relative_to(root).as_posix() for p in sorted(samples.glob("*.gif"))]
    except OSError:
        return []


def size_text(size: int) -> str:
    """A file size for people: "512 B", "48.2 KiB", "12.3 MiB", "1.25 GiB" (a tiny test checkpoint read "0.0 MiB")."""
    if size < 1024:
        return f"{size} B"
    if size < 2**20:
        return f"{size / 1024:.1f} KiB"
    if size < 2**30:
        return f"{size / 2**20:.1f} MiB"
    return f"{size / 2**30:.2f} GiB"


@dataclass(frozen=True)
class CheckpointFile:
    path: str
    size: int  # bytes
    latest: bool
    best: bool

    @property
    def size_text(self) -> str:
        return size_text(self.size)


def checkpoints(root: Path) -> list[CheckpointFile]:
    """Checkpoints and exported models under model/ (stage folders included), newest first."""
    model = RunFolder(root).model_dir
    try:
        files = [p for p in model.rglob("*") if p.is_file() and p.suffix in (".pt", ".onnx", ".safetensors")]
    except OSError:
        return []
    folders = [model, *[p for p in model.iterdir() if p.is_dir()]] if model.is_dir() else []
    latest = {_pointer(folder / LATEST_POINTER) for folder in folders}
    # model/best: the pointer the metrics issue keeps for the best checkpoint (or a file named *best*)
    best = {_pointer(folder / "best") for folder in folders} | {p.resolve() for p in files if "best" in p.name}
    result = []
    for path in sorted(files, key=_mtime, reverse=True):
        try:
            size = path.stat().st_size
        except OSError:
            continue
        result.append(CheckpointFile(path=str(path.relative_to(root)), size=size,
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
            numbers = isinstance(low, (int, float)) and isinstance(high, (int, float))
            interval = f" [{low:.4g}, {high:.4g}]" if numbers else ""
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


# A run writes validation.json; CycleGAN writes one report per domain instead.
VALIDATION_FILES = (("validation.json", ""), ("validation_source.json", "source"),
                    ("validation_target.json", "target"))


@dataclass(frozen=True)
class ValidationReport:
    file: str
    title: str  # "" for the only report of a run, else the domain (CycleGAN: source, target)
    data: dict[str, Any] | None
    error: str | None


def validation_reports(root: Path) -> list[ValidationReport]:
    """Every validation report the run wrote (missing ones left out), in the order of VALIDATION_FILES."""
    reports = []
    for name, title in VALIDATION_FILES:
        found = read_json(root / name)
        if found.data is not None or found.error is not None:
            data = found.data if isinstance(found.data, dict) else None
            reports.append(ValidationReport(file=name, title=title, data=data, error=found.error))
    return reports
