"""The worker: take jobs from the queue one at a time, run them, and leave each in a truthful state.

Whatever happens to the worker, a job ends up either finished or back in the queue to be resumed
from its latest checkpoint: a signal to the worker stops the job gracefully and requeues it; a
worker that dies outright stops sending heartbeats, and the next worker reclaims its job.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from ganfactory.jobs.errors import JobError, QueueUnavailable
from ganfactory.jobs.heartbeat import Heartbeat
from ganfactory.jobs.launch import CommandBuilder, operator_command_line
from ganfactory.jobs.logtail import ATTEMPT_MARKER, current_attempt, read_tail
from ganfactory.jobs.machine import gpu_names, host_name
from ganfactory.jobs.model import Job, JobStatus
from ganfactory.jobs.outcome import Outcome, StopReason, decide_outcome
from ganfactory.jobs.process import kill_tree, request_stop, start_job_process
from ganfactory.jobs.queue import JobQueue, open_queue

log = logging.getLogger(__name__)

_WAIT_STEP_S = 0.2  # how often the supervisor looks at the process and the stop/cancel flags


def make_worker_id(host: str | None = None) -> str:
    """host:pid:random, unique even when a pid is reused after a reboot."""
    return f"{host or host_name()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class StopSignals:
    """SIGTERM/SIGINT/SIGHUP ask the worker to stop; a second one means 'now' (the job is killed, not saved)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        log.warning("Worker received %s: %s.", signal.Signals(signum).name,
                    "stopping the job gracefully" if self.count == 1 else "killing the job now")
        self.event.set()

    def __enter__(self) -> StopSignals:
        # Handlers can only be installed from the main thread; elsewhere (tests) the event still works.
        if threading.current_thread() is threading.main_thread():
            # SIGHUP too: a closed terminal should requeue the job, not leave it to the stale timeout.
            hangup = [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []
            for signum in (signal.SIGTERM, signal.SIGINT, *hangup):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


class Worker:
    """Runs queued jobs until stopped, idle (with exit_when_idle) or after max_jobs."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        worker_id: str,
        stop: StopSignals,
        command_for: CommandBuilder,
        poll: float,
        heartbeat_every: float,
        stale_after: float,
        stop_timeout: float,
        host: str | None = None,
        gpu: str | None = None,
    ) -> None:
        self.queue = queue
        self.host = host
        self.gpu = gpu
        self.worker_id = worker_id
        self.stop = stop
        self.command_for = command_for
        self.poll = poll
        self.heartbeat_every = heartbeat_every
        self.stale_after = stale_after
        self.stop_timeout = stop_timeout

    def run(self, *, max_jobs: int | None, exit_when_idle: bool) -> int:
        """The main loop; returns how many jobs this worker ran."""
        ran = 0
        log.info("Worker %s%s watching %s.", self.worker_id, f" ({self.gpu})" if self.gpu else "", self.queue.location)
        unavailable: tuple[type[BaseException], ...] = (QueueUnavailable, *self.queue.backend.unavailable_error)
        while not self.stop.event.is_set() and (max_jobs is None or ran < max_jobs):
            try:
                self.queue.reclaim_stale(stale_after=self.stale_after)
                job = self.queue.claim_next(self.worker_id, host=self.host, gpu=self.gpu)
                if job is None and exit_when_idle and not self.queue.has_active():
                    log.info("No job is queued or running; worker %s exits.", self.worker_id)
                    break
            except unavailable as exc:
                log.warning("The job queue is unavailable (%s); retrying in %g s.", exc, self.poll)
                job = None
            if job is None:
                self.stop.event.wait(self.poll)
                continue
            self.run_job(job)
            ran += 1
        return ran

    def run_job(self, job: Job) -> JobStatus | None:
        """Run one claimed job to the end and record the outcome; returns the stored status."""
        assert job.lease is not None
        argv = self.command_for(job)
        self._write_attempt_marker(job, argv)
        log.info("Job %d started (attempt %d/%d): %s", job.id, job.attempts, job.max_attempts, job.command_line)
        try:
            proc = start_job_process(argv=argv, cwd=job.cwd, log_path=job.log_path, env=self._job_env(job))
        except OSError as exc:
            # A missing folder or interpreter will still be missing on the next attempt.
            failed = Outcome(status=JobStatus.FAILED, error=f"could not start the job: {exc}")
            return self._record(job, outcome=failed, returncode=None)
        self.queue.set_pid(job.id, lease=job.lease, pid=proc.pid)
        with Heartbeat(queue=self.queue, job_id=job.id, lease=job.lease, every=self.heartbeat_every) as beat:
            reason = self._supervise(proc, beat)
        lines = current_attempt(read_tail(job.log_path))
        outcome = decide_outcome(job=job, returncode=proc.returncode, reason=reason, log_lines=lines)
        if outcome is None:
            log.error("Job %d now belongs to another worker; its run here was stopped.", job.id)
            return None
        return self._record(job, outcome=outcome, returncode=proc.returncode)

    def _supervise(self, proc: subprocess.Popen, beat: Heartbeat) -> StopReason:
        """Wait for the process, stopping it when asked; returns why the worker stopped it, if it did."""
        reason = StopReason.NONE
        deadline: float | None = None
        while True:
            try:
                proc.wait(timeout=_WAIT_STEP_S)
                return reason
            except subprocess.TimeoutExpired:
                pass
            if reason is StopReason.NONE:
                reason = self._stop_reason(beat)
                if reason is StopReason.LEASE_LOST:
                    kill_tree(proc)  # another copy may be starting: no time for a checkpoint
                elif reason is not StopReason.NONE:
                    log.info("Job %d: asking it to stop (%s).", beat.job_id, reason.value)
                    request_stop(proc)
                    deadline = time.monotonic() + self.stop_timeout
            elif deadline is not None and (time.monotonic() > deadline or self.stop.count >= 2):
                why = ("a second stop signal came" if self.stop.count >= 2
                       else f"it did not stop within {self.stop_timeout:g} s")
                log.warning("Job %d: killing it, since %s.", beat.job_id, why)
                kill_tree(proc)
                deadline = None

    def _stop_reason(self, beat: Heartbeat) -> StopReason:
        if beat.lease_lost.is_set():
            return StopReason.LEASE_LOST
        if beat.cancel_requested.is_set():
            return StopReason.CANCELLED
        if self.stop.event.is_set():
            return StopReason.WORKER_STOPPING
        return StopReason.NONE

    def _record(self, job: Job, *, outcome: Outcome, returncode: int | None) -> JobStatus | None:
        assert job.lease is not None
        status = self.queue.finish(
            job.id, lease=job.lease, status=outcome.status, error=outcome.error,
            exit_code=returncode, count_attempt=outcome.count_attempt,
        )
        if status is None:
            log.error("Job %d now belongs to another worker; its outcome here is dropped.", job.id)
        elif status is JobStatus.DONE:
            log.info("Job %d done.", job.id)
        elif status is JobStatus.QUEUED:
            log.warning("Job %d is back in the queue%s; its next run resumes from its latest checkpoint.",
                        job.id, f" after: {outcome.error}" if outcome.error else "")
        else:
            log.warning("Job %d is %s%s.", job.id, status.value, f": {outcome.error}" if outcome.error else "")
        return status

    def _write_attempt_marker(self, job: Job, argv: list[str]) -> None:
        stamp = datetime.now().isoformat(timespec="seconds")
        line = (f"{ATTEMPT_MARKER} job {job.id}, attempt {job.attempts}/{job.max_attempts}, "
                f"worker {self.worker_id}, {stamp}: {shlex.join(argv)}\n")
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        with job.log_path.open("a", encoding="utf-8", errors="backslashreplace") as handle:  # any file name
            handle.write(line)

    def _job_env(self, job: Job) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GANFACTORY_JOB_ID=str(job.id),
            GANFACTORY_WORKER_ID=self.worker_id,
            PYTHONUNBUFFERED="1",  # so `jobs logs --follow` shows lines as they are printed
        )
        return env


def run_worker(
    home: Path | str | None = None,
    *,
    max_jobs: int | None = None,
    poll: float = 5.0,
    heartbeat_every: float = 10.0,
    stale_after: float = 120.0,
    stop_timeout: float = 120.0,
    exit_when_idle: bool = False,
    command_for: CommandBuilder = operator_command_line,
    worker_id: str | None = None,
    queue: str | None = None,
    host: str | None = None,
) -> int:
    """Run jobs from the queue in `home` until SIGTERM/SIGINT, idleness (exit_when_idle) or max_jobs.

    queue: a postgresql:// URL shared by workers on several machines (None: $GANFACTORY_QUEUE, else the
    SQLite file in `home`, which also holds the job logs either way). host: the name recorded on the jobs
    this worker claims (default: the machine's host name).
    stale_after: a running job whose heartbeat is older than this is presumed orphaned and requeued;
    keep it several times heartbeat_every. stop_timeout: how long a job may take to save and exit
    after SIGTERM before it is killed. Returns the number of jobs run.
    """
    _check_timing(poll=poll, heartbeat_every=heartbeat_every, stale_after=stale_after, stop_timeout=stop_timeout)
    if max_jobs is not None and max_jobs < 1:
        raise JobError(f"--max-jobs must be at least 1, not {max_jobs}; leave it out to run jobs forever.")
    jobs = open_queue(home, queue)
    with StopSignals() as stop:
        worker = Worker(
            queue=jobs, worker_id=worker_id or make_worker_id(host), stop=stop, command_for=command_for,
            poll=poll, heartbeat_every=heartbeat_every, stale_after=stale_after, stop_timeout=stop_timeout,
            host=host or host_name(), gpu=gpu_names(),
        )
        return worker.run(max_jobs=max_jobs, exit_when_idle=exit_when_idle)


def _check_timing(*, poll: float, heartbeat_every: float, stale_after: float, stop_timeout: float) -> None:
    if poll <= 0 or heartbeat_every <= 0 or stop_timeout <= 0:
        raise JobError("--poll, --heartbeat and --stop-timeout must be positive numbers of seconds.")
    # A live worker must never look dead: allow for a couple of missed beats (busy database, load).
    if stale_after < 3 * heartbeat_every:
        raise JobError(
            f"--stale-after ({stale_after:g} s) must be at least 3 x --heartbeat ({heartbeat_every:g} s); "
            "raise it or beat more often."
        )
