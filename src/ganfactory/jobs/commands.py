"""What `ganfactory jobs ...` does, as plain functions: the CLI parses, calls one of these, and prints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ganfactory.jobs.errors import JobError
from ganfactory.jobs.logtail import read_tail
from ganfactory.jobs.model import Job, JobStatus
from ganfactory.jobs.progress import Progress, duration_text, eta_seconds, progress_text, read_progress
from ganfactory.jobs.queue import JobQueue, open_queue
from ganfactory.jobs.runfolder import resolve_job
from ganfactory.output.layout import RunFolder

log = logging.getLogger(__name__)

HomeArg = Path | str | None
QueueArg = str | None  # a postgresql:// URL; None: $GANFACTORY_QUEUE, else the SQLite file in the home folder


def submit(
    home: HomeArg,
    operator: str,
    args: list[str],
    *,
    priority: int = 0,
    max_attempts: int = 3,
    nproc: int = 1,
    max_restarts: int = 0,
    cwd: Path | None = None,
    queue: QueueArg = None,
) -> int:
    """Queue `ganfactory OPERATOR ARGS...` and return the job id; relative paths are taken from cwd."""
    _check_options(max_attempts=max_attempts, nproc=nproc, max_restarts=max_restarts)
    where = (cwd or Path.cwd()).resolve()
    run_folder, request = resolve_job(operator, list(args), cwd=where)
    return open_queue(home, queue).submit(
        operator=operator, args=list(args), run_folder=run_folder, cwd=where, priority=priority,
        max_attempts=max_attempts, nproc=nproc, max_restarts=max_restarts, request=request,
    )


def _check_options(*, max_attempts: int, nproc: int, max_restarts: int) -> None:
    if max_attempts < 1:
        raise JobError(f"--max-attempts must be at least 1, not {max_attempts}.")
    if nproc < 1:
        raise JobError(f"--nproc must be at least 1, not {nproc}.")
    if max_restarts < 0:
        raise JobError(f"--max-restarts must be 0 or more, not {max_restarts}.")


def submit_shards(home: HomeArg, operator: str, args: list[str], *, shards: int, cwd: Path | None = None,
                  queue: QueueArg = None, priority: int = 0, max_attempts: int = 3, nproc: int = 1,
                  max_restarts: int = 0) -> list[int]:
    """Queue N jobs `ganfactory OPERATOR ARGS... --shard K/N` (K = 1..N) that generate into one OUT; the shard
    that completes last merges the manifest. Every shard's arguments are validated before any is queued."""
    _check_options(max_attempts=max_attempts, nproc=nproc, max_restarts=max_restarts)
    options = dict(priority=priority, max_attempts=max_attempts, nproc=nproc, max_restarts=max_restarts)
    if shards < 2:
        raise JobError(f"--shards must be at least 2, not {shards}; leave it out for one job.")
    if any(arg == "--shard" or arg.startswith("--shard=") for arg in args):
        raise JobError("Give either --shards N to submit or --shard K/N to the operator, not both.")
    where = (cwd or Path.cwd()).resolve()
    parts = [(f"{k}/{shards}", [*args, "--shard", f"{k}/{shards}"]) for k in range(1, shards + 1)]
    resolved = [(shard, argv, *resolve_job(operator, argv, cwd=where)) for shard, argv in parts]
    jobs = open_queue(home, queue)
    return [jobs.submit(operator=operator, args=argv, run_folder=folder, cwd=where, request=request, shard=shard,
                        **options) for shard, argv, folder, request in resolved]


@dataclass(frozen=True)
class JobRow:
    """A job and its latest progress, for `jobs list`."""

    job: Job
    progress: Progress | None


def list_jobs(home: HomeArg, queue: QueueArg = None) -> list[JobRow]:
    return [JobRow(job=job, progress=read_progress(job.run_folder)) for job in open_queue(home, queue).list_jobs()]


def format_table(rows: list[JobRow], *, now: float | None = None) -> str:
    """A plain-text table: id, operator, status, attempts, progress, ETA, started, where it ran (host and GPU)."""
    moment = time.time() if now is None else now
    header = ("ID", "OPERATOR", "STATUS", "TRY", "PROGRESS", "ETA", "STARTED", "WORKER")
    table = [header] + [_row_cells(row, now=moment) for row in rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip() for cells in table)


def _row_cells(row: JobRow, *, now: float) -> tuple[str, ...]:
    job = row.job
    running = job.status is JobStatus.RUNNING
    status = "cancelling" if running and job.cancel_requested else job.status.value
    eta = duration_text(eta_seconds(row.progress, now=now)) if running else "-"
    return (
        str(job.id), job.operator, status, f"{job.attempts}/{job.max_attempts}",
        progress_text(row.progress), eta, _when(job.started_at), job.where,
    )


@dataclass(frozen=True)
class JobDetails:
    """Everything `jobs show` prints."""

    job: Job
    progress: Progress | None
    config: dict[str, Any] | None
    log_tail: list[str]


def show(home: HomeArg, job_id: int, *, log_lines: int = 20, queue: QueueArg = None) -> JobDetails:
    job = open_queue(home, queue).get(job_id)
    return JobDetails(
        job=job,
        progress=read_progress(job.run_folder),
        config=_read_config(job.run_folder),
        log_tail=read_tail(job.log_path)[-log_lines:] if log_lines > 0 else [],
    )


def format_details(details: JobDetails) -> str:
    job = details.job
    lines = [
        f"job {job.id}: {job.status.value}" + (" (cancel requested)" if job.cancel_requested else ""),
        f"command:    {job.command_line}" + (f"  [{job.nproc} processes]" if job.nproc > 1 else "")
        + (f"  [shard {job.shard}]" if job.shard else ""),
        f"directory:  {job.cwd}",
        f"run folder: {job.run_folder or '-'}",
        f"priority:   {job.priority}    attempts: {job.attempts}/{job.max_attempts}",
        f"progress:   {progress_text(details.progress)}",
        f"created:    {_when(job.created_at)}    started: {_when(job.started_at)}"
        f"    finished: {_when(job.finished_at)}",
    ]
    if job.worker_id:
        lines.append(f"worker:     {job.worker_id}" + (f" (pid {job.pid})" if job.pid else "") + f" on {job.where}")
    if job.error:
        lines.append(f"error:      {job.error}")
    lines.append(f"log:        {job.log_path}")
    if details.config is not None:
        lines += ["config:", *("  " + line for line in json.dumps(details.config, indent=2).splitlines())]
    if details.log_tail:
        lines += [f"last {len(details.log_tail)} log lines:", *("  " + line for line in details.log_tail)]
    return "\n".join(lines)


def cancel(home: HomeArg, job_id: int, *, queue: QueueArg = None) -> Job:
    return open_queue(home, queue).cancel(job_id)


def retry(home: HomeArg, job_id: int, *, queue: QueueArg = None) -> Job:
    return open_queue(home, queue).retry(job_id)


def logs(home: HomeArg, job_id: int, *, follow: bool = False, poll: float = 0.5,
         queue: QueueArg = None) -> Iterator[str]:
    """The job's log lines (without newlines); with follow, keep waiting for more until the job stops."""
    jobs = open_queue(home, queue)
    job = jobs.get(job_id)
    if not follow and not job.log_path.exists():
        raise JobError(f"Job {job_id} has not started yet, so it has no log; add --follow to wait for it.")
    yield from _follow_lines(jobs, job, follow=follow, poll=poll)


def _follow_lines(queue: JobQueue, job: Job, *, follow: bool, poll: float) -> Iterator[str]:
    while not job.log_path.exists():  # only when following: wait for the job to start
        if queue.get(job.id).status.finished:
            return
        time.sleep(poll)
    with job.log_path.open("r", encoding="utf-8", errors="replace") as handle:
        partial = ""
        ended = False
        while True:
            chunk = handle.readline()
            if chunk.endswith("\n"):
                yield (partial + chunk).rstrip("\n")
                partial = ""
                continue
            partial += chunk  # an unfinished line: keep it until its end arrives
            if not follow or ended:
                break
            # Once the job has ended, read once more: lines written just before the end still count.
            ended = queue.get(job.id).status.finished
            if not ended:
                time.sleep(poll)
        if partial:
            yield partial


def _read_config(run_folder: Path | None) -> dict[str, Any] | None:
    if run_folder is None:
        return None
    try:
        data = json.loads(RunFolder(run_folder).config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else {"config": data}


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")
