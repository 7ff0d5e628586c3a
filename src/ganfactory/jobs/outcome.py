"""How a run ended, decided from the exit code and from why the worker may have stopped it."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from enum import Enum

from ganfactory.jobs.logtail import last_meaningful_line, torchrun_root_exit_code
from ganfactory.jobs.model import Job, JobStatus

EXIT_OK = 0
EXIT_USER_ERROR = 2  # bad input or config: running it again cannot help
EXIT_INTERRUPTED = 75  # stopped by SIGTERM/SIGINT after saving a checkpoint (EX_TEMPFAIL)


class StopReason(Enum):
    """Why the worker stopped the process, if it did."""

    NONE = "none"  # it ended on its own
    WORKER_STOPPING = "worker stopping"  # the worker got SIGTERM/SIGINT: not the job's fault
    CANCELLED = "cancelled"
    LEASE_LOST = "lease lost"  # another worker owns the job now: leave the row alone


@dataclass(frozen=True)
class Outcome:
    status: JobStatus
    error: str | None
    count_attempt: bool = True


def decide_outcome(*, job: Job, returncode: int, reason: StopReason, log_lines: list[str]) -> Outcome | None:
    """The job's next state; None when this worker no longer owns the job. log_lines: this attempt's output."""
    if reason is StopReason.LEASE_LOST:
        return None
    if returncode == EXIT_OK:
        return Outcome(status=JobStatus.DONE, error=None)
    if reason is StopReason.CANCELLED:
        return Outcome(status=JobStatus.CANCELLED, error="cancelled while running")
    if reason is StopReason.WORKER_STOPPING:
        # Resumes from its checkpoint on the next worker; an interruption is not a failed attempt.
        return Outcome(status=JobStatus.QUEUED, error=None, count_attempt=False)
    code = _effective_exit_code(job=job, returncode=returncode, log_lines=log_lines)
    message = _failure_message(code=code, log_lines=log_lines)
    if code == EXIT_USER_ERROR:
        return Outcome(status=JobStatus.FAILED, error=message)
    if _repeats_itself(job=job, code=code, message=message):
        return Outcome(status=JobStatus.FAILED,
                       error=f"{message} (failed the same way twice on the same input, so not tried again; fix the "
                             f"cause, then 'ganfactory jobs retry {job.id}')")
    if job.attempts < job.max_attempts:
        return Outcome(status=JobStatus.QUEUED, error=message)
    return Outcome(status=JobStatus.FAILED, error=f"{message} (gave up after {job.attempts} attempts)")


def _repeats_itself(*, job: Job, code: int, message: str) -> bool:
    """An error the program itself reported (not a signal, not a stop) with the very message of the previous
    attempt: the job's input never changes between attempts, so a third try would fail the same way. A kill
    (out of memory, a lost node) may pass and is retried as before."""
    return code > 0 and code != EXIT_INTERRUPTED and job.error is not None and job.error == message


def _effective_exit_code(*, job: Job, returncode: int, log_lines: list[str]) -> int:
    # torchrun exits 1 whatever its ranks did; its failure report names the root-cause rank's code.
    if job.nproc > 1 and returncode == 1:
        root = torchrun_root_exit_code(log_lines)
        if root is not None:
            return root
    return returncode


def _failure_message(*, code: int, log_lines: list[str]) -> str:
    if code < 0:
        name = _signal_name(-code)
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"the job was killed by {name}{hint}"
    if code == EXIT_INTERRUPTED:
        return "the job was interrupted by a signal from outside the worker"
    line = last_meaningful_line(log_lines)
    return line if line else f"the job exited with code {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
