"""What a job is: its states and the immutable snapshot of one row of the queue."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """No worker will touch a job in this state again unless someone retries it."""
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class Job:
    """One row of the queue, read at one moment; re-read it to see later changes."""

    id: int
    operator: str
    args: tuple[str, ...]
    run_folder: Path | None
    cwd: Path
    priority: int
    status: JobStatus
    attempts: int
    max_attempts: int
    nproc: int
    max_restarts: int
    worker_id: str | None
    lease: str | None
    pid: int | None
    heartbeat_at: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    cancel_requested: bool
    exit_code: int | None
    error: str | None
    log_path: Path
    request: dict | None = None  # the typed operator request ({"operator", "inputs", "out", "config"})
    worker_host: str | None = None  # the machine of the worker that last claimed it
    worker_gpu: str | None = None  # that worker's GPU name(s), None without CUDA
    shard: str = ""  # "K/N" for one of N jobs that share a run folder (`jobs submit --shards N`), else ""

    @property
    def command_line(self) -> str:
        """The command a user would type to run (or resume) this job by hand."""
        return " ".join(["ganfactory", self.operator, *(shlex.quote(arg) for arg in self.args)])

    @property
    def where(self) -> str:
        """host (GPU) of the worker that last claimed the job; "-" before any."""
        if not self.worker_host:
            return "-"
        return f"{self.worker_host} ({self.worker_gpu})" if self.worker_gpu else self.worker_host

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        keys = row.keys()
        return cls(
            id=row["id"],
            operator=row["operator"],
            args=tuple(json.loads(row["args"])),
            run_folder=Path(row["run_folder"]) if row["run_folder"] else None,
            cwd=Path(row["cwd"]),
            priority=row["priority"],
            status=JobStatus(row["status"]),
            attempts=row["attempts"],
            max_attempts=row["max_attempts"],
            nproc=row["nproc"],
            max_restarts=row["max_restarts"],
            worker_id=row["worker_id"],
            lease=row["lease"],
            pid=row["pid"],
            heartbeat_at=row["heartbeat_at"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            cancel_requested=bool(row["cancel_requested"]),
            exit_code=row["exit_code"],
            error=row["error"],
            log_path=Path(row["log_path"]),
            request=json.loads(row["request"]) if "request" in keys and row["request"] else None,
            worker_host=row["worker_host"] if "worker_host" in keys else None,
            worker_gpu=row["worker_gpu"] if "worker_gpu" in keys else None,
            shard=row["shard"] if "shard" in keys else "",
        )


@dataclass(frozen=True)
class Beat:
    """The queue's answer to a heartbeat."""

    alive: bool  # False: this run lost its lease (reclaimed or finished elsewhere) and must stop now
    cancel_requested: bool

