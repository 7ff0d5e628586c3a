"""What the run page of a running job refreshes while it stays open: whether the run is still being written (so
the page keeps polling), and the parts that grow during training (progress, grids, checkpoints, metrics)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ganfactory.console import runinfo
from ganfactory.console.annotation import annotation_folder
from ganfactory.jobs.model import Job
from ganfactory.jobs.progress import Progress, progress_text, read_progress
from ganfactory.output.layout import RunFolder

# A run with no job in the queue (started on the command line) counts as running while its progress.json says
# so and was rewritten this recently; a run killed without a word must not keep its page polling for ever.
STALE_PROGRESS_S = 30 * 60


def job_of(jobs: list[Job], root: Path) -> Job | None:
    """The newest job that writes into the run folder `root` (resolved), or None."""
    mine = [job for job in jobs if job.run_folder is not None and job.run_folder.expanduser().resolve() == root]
    return max(mine, key=lambda job: job.id, default=None)


def is_live(job: Job | None, progress: Progress | None, *, now: float | None = None,
            started: float | None = None) -> bool:
    """A queued or running job's run is live (its page opened before the first tick must wait for it); without a
    job, a run whose progress is recent and not "done", or, before its first progress.json, one whose
    config.json (`started`, its mtime) was written recently: a command-line run's page opened at its start."""
    clock = time.time() if now is None else now
    if job is not None:
        return not job.status.finished
    if progress is None:
        return started is not None and clock - started < STALE_PROGRESS_S
    if progress.phase == "done":
        return False
    return clock - progress.updated < STALE_PROGRESS_S


def started_at(root: Path) -> float | None:
    """When the run wrote its config.json (its start), or None."""
    try:
        return RunFolder(root).config_path.stat().st_mtime
    except OSError:
        return None


def stats_stamp(root: Path) -> str:
    """Changes whenever logs/stats.jsonl does, so the page refetches the curves only after a new tick."""
    try:
        stat = RunFolder(root).stats_path.stat()
    except OSError:
        return ""
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def live_parts(root: Path, jobs: list[Job], stats: runinfo.StatsCache) -> dict[str, Any]:
    """The run page's growing parts: progress, links (the gallery's appears with the manifest), grids,
    checkpoints, metrics (blocking file reads: call it in the thread pool)."""
    progress = read_progress(root)
    checkpoints = runinfo.checkpoints(root)
    metrics = runinfo.read_json(root / "metrics.json")
    parsed = stats.parsed(RunFolder(root).stats_path)
    frames = runinfo.sample_timeline(root, parsed.by_steps)
    parts = {"live": is_live(job_of(jobs, root), progress, started=started_at(root)),
             "progress": progress_text(progress),
             "checkpoints": checkpoints,
             "can_generate": can_generate(runinfo.read_json(RunFolder(root).config_path).data, checkpoints),
             "alerts": runinfo.run_alerts(root, parsed),
             "metrics": runinfo.metric_rows(metrics.data),
             "metrics_error": metrics.error, "frames": frames, "stats_stamp": stats_stamp(root),
             "exists": root.is_dir(), "has_manifest": RunFolder(root).manifest_path.is_file(),
             "has_annotation": annotation_folder(root) is not None}
    if not parts["stats_stamp"]:
        # Before the first tick: the config and validation reports may be appearing. Not after, so that a reader
        # scrolling the configuration is not sent back to its top every poll.
        parts.update(setup=True, **setup_parts(root))
    return parts


def setup_parts(root: Path) -> dict[str, Any]:
    """The configuration and validation reports, as the run page shows them."""
    config = runinfo.read_json(RunFolder(root).config_path)
    return {"config": config, "validations": runinfo.validation_reports(root),
            "config_text": json.dumps(config.data, indent=2, ensure_ascii=False) if config.data is not None else ""}


def update_event(parts: dict[str, Any]) -> dict[str, Any]:
    """The detail of the page's "run-update" event: what curves.js and timeline.js need to follow the run."""
    frames = parts["frames"]
    return {"stats": parts["stats_stamp"], "live": parts["live"], "frames": [frame.path for frame in frames],
            "labels": [frame.label for frame in frames]}


def can_generate(config: Any, checkpoints: list[runinfo.CheckpointFile]) -> bool:
    """Generate on demand is offered for a StyleGAN run (`config`: its config.json's data) with a checkpoint
    (see console.ondemand)."""
    return (isinstance(config, dict) and config.get("operator") == "stylegan"
            and any(c.path.endswith(".pt") for c in checkpoints))
