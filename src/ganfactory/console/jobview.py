"""One row of the jobs table: the queue's job plus what its run folder says about progress."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ganfactory.console.runs import run_id
from ganfactory.jobs.model import Job, JobStatus
from ganfactory.jobs.progress import duration_text, eta_seconds, progress_text, read_progress
from ganfactory.output.layout import RunFolder


@dataclass(frozen=True)
class JobView:
    job: Job
    status: str  # the job's status, "cancelling" while a cancel is pending
    stage: str
    phase: str
    fraction: float | None  # 0..1 of the current stage; None when unknown
    progress: str
    eta: str
    run_id: str | None

    @property
    def percent(self) -> int:
        return int(round(100 * (self.fraction or 0.0)))

    @property
    def can_cancel(self) -> bool:
        return not self.job.status.finished and not self.job.cancel_requested

    @property
    def can_retry(self) -> bool:
        return self.job.status in (JobStatus.FAILED, JobStatus.CANCELLED)


def _stage(run_folder: Path | None) -> str:
    if run_folder is None:
        return ""
    try:
        return str(json.loads(RunFolder(run_folder).progress_path.read_text(encoding="utf-8")).get("stage", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def job_view(job: Job, *, now: float | None = None) -> JobView:
    moment = time.time() if now is None else now
    progress = read_progress(job.run_folder)
    running = job.status is JobStatus.RUNNING
    fraction = None
    if progress is not None and progress.total > 0:
        fraction = 1.0 if progress.phase == "done" else min(max(progress.done / progress.total, 0.0), 1.0)
    return JobView(
        job=job,
        status="cancelling" if running and job.cancel_requested else job.status.value,
        stage=_stage(job.run_folder),
        phase=progress.phase if progress else "",
        fraction=fraction,
        progress=progress_text(progress),
        eta=duration_text(eta_seconds(progress, now=moment)) if running else "-",
        run_id=run_id(job.run_folder) if job.run_folder is not None else None,
    )
