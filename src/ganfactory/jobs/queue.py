"""The job queue: one SQLite database that any number of workers and clients share safely.

Every state change is one short `BEGIN IMMEDIATE` transaction, so two workers can never claim the
same job, and a run is identified by a lease token: a worker whose lease was taken away (it was
presumed dead and its job reclaimed) can no longer change the job.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ganfactory.jobs.errors import JobError
from ganfactory.jobs.home import JobHome
from ganfactory.jobs.model import Beat, Job, JobStatus
from ganfactory.output.pathtext import strict_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: the typed operator request (JSON) beside the argv
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    operator         TEXT    NOT NULL,
    args             TEXT    NOT NULL,
    run_folder       TEXT,
    cwd              TEXT    NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    status           TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    nproc            INTEGER NOT NULL DEFAULT 1,
    max_restarts     INTEGER NOT NULL DEFAULT 0,
    worker_id        TEXT,
    lease            TEXT,
    pid              INTEGER,
    heartbeat_at     REAL,
    created_at       REAL    NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    exit_code        INTEGER,
    error            TEXT,
    log_path         TEXT    NOT NULL DEFAULT '',
    request          TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_claim_order ON jobs (status, priority DESC, id);
CREATE INDEX IF NOT EXISTS jobs_by_run_folder ON jobs (run_folder, status);
"""

_ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class JobQueue:
    """The jobs of one home folder. Each call opens its own connection, so any thread may use it."""

    def __init__(self, home: JobHome, *, clock: Callable[[], float] = time.time) -> None:
        self.home = home
        self._clock = clock  # injectable so tests can age heartbeats without sleeping
        self._create_schema()

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the write lock is taken
        # before the first read of a read-modify-write, not lazily at the first write.
        conn = sqlite3.connect(str(self.home.database), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    def _create_schema(self) -> None:
        try:
            with self._read() as conn:
                # WAL lets readers (list, show) run while a worker writes; it persists in the file.
                conn.execute("PRAGMA journal_mode = WAL")
            with self._write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise JobError(
                        f"The job database {self.home.database} was written by a newer ganfactory; "
                        "upgrade ganfactory or use another --home."
                    )
                # Statement by statement: executescript() would commit our transaction early.
                for statement in _statements():
                    conn.execute(statement)
                columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
                if "request" not in columns:  # a version-1 database: its jobs keep running from their argv
                    conn.execute("ALTER TABLE jobs ADD COLUMN request TEXT")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise JobError(
                f"Cannot open the job database {self.home.database} ({exc}); "
                "check the file, or use another --home."
            ) from exc

    # -- clients -----------------------------------------------------------------------------

    def submit(
        self,
        *,
        operator: str,
        args: list[str],
        run_folder: Path | None,
        cwd: Path,
        priority: int = 0,
        max_attempts: int = 3,
        nproc: int = 1,
        max_restarts: int = 0,
        request: dict | None = None,
    ) -> int:
        """Queue a job and return its id; refused when an unfinished job already uses the run folder.
        `request`: the typed operator request (OperatorRequest.to_json()) the worker runs; None: run `args`."""
        folder = strict_text(run_folder, role="run folder") if run_folder is not None else None
        cwd = Path(strict_text(cwd, role="working folder"))
        with self._write() as conn:
            _refuse_shared_run_folder(conn, folder, job_id=None)
            cur = conn.execute(
                "INSERT INTO jobs (operator, args, run_folder, cwd, priority, max_attempts, nproc,"
                " max_restarts, created_at, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (operator, json.dumps(list(args)), folder, str(cwd), priority, max_attempts, nproc,
                 max_restarts, self._clock(), None if request is None else json.dumps(request)),
            )
            assert cur.lastrowid is not None  # set by the INSERT
            job_id = int(cur.lastrowid)
            conn.execute("UPDATE jobs SET log_path = ? WHERE id = ?", (str(self.home.log_for(job_id)), job_id))
        log.debug("Queued job %d: %s %s", job_id, operator, " ".join(args))
        return job_id

    def get(self, job_id: int) -> Job:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobError(f"There is no job {job_id} in {self.home.root}; run 'ganfactory jobs list' to see the ids.")
        return Job.from_row(row)

    def list_jobs(self) -> list[Job]:
        """All jobs, oldest first."""
        with self._read() as conn:
            return [Job.from_row(row) for row in conn.execute("SELECT * FROM jobs ORDER BY id")]

    def has_active(self) -> bool:
        """Whether any job is queued or running (a running one may still come back to the queue)."""
        with self._read() as conn:
            row = conn.execute("SELECT 1 FROM jobs WHERE status IN (?, ?) LIMIT 1", _ACTIVE).fetchone()
        return row is not None

    def cancel(self, job_id: int) -> Job:
        """Cancel a queued job now; ask the worker of a running one to stop it gracefully."""
        with self._write() as conn:
            status = _status_of(conn, job_id, self.home)
            if status is JobStatus.QUEUED:
                conn.execute(
                    "UPDATE jobs SET status = 'cancelled', finished_at = ?, error = 'cancelled before it ran'"
                    " WHERE id = ?",
                    (self._clock(), job_id),
                )
            elif status is JobStatus.RUNNING:
                conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            else:
                raise JobError(f"Job {job_id} is already {status.value}, so there is nothing to cancel.")
        return self.get(job_id)

    def retry(self, job_id: int) -> Job:
        """Put a failed or cancelled job back in the queue with a fresh count of attempts."""
        with self._write() as conn:
            status = _status_of(conn, job_id, self.home)
            if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise JobError(
                    f"Job {job_id} is {status.value}; only failed or cancelled jobs can be retried "
                    "(submit the command again to run a finished job once more)."
                )
            folder = conn.execute("SELECT run_folder FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            _refuse_shared_run_folder(conn, folder, job_id=job_id)
            conn.execute(
                "UPDATE jobs SET status = 'queued', attempts = 0, error = NULL, exit_code = NULL,"
                " cancel_requested = 0, finished_at = NULL WHERE id = ?",
                (job_id,),
            )
        return self.get(job_id)

    # -- workers -----------------------------------------------------------------------------

    def claim_next(self, worker_id: str) -> Job | None:
        """Atomically take the most urgent queued job for this worker; None when nothing is queued."""
        lease = uuid.uuid4().hex
        now = self._clock()
        with self._write() as conn:
            # One UPDATE under the write lock of BEGIN IMMEDIATE: no other worker can pick the same
            # row in between; `AND status = 'queued'` plus the rowcount check keep that true even if
            # the transaction mode were ever weakened.
            cur = conn.execute(
                "UPDATE jobs SET status = 'running', worker_id = ?, lease = ?, attempts = attempts + 1,"
                " heartbeat_at = ?, started_at = ?, finished_at = NULL, exit_code = NULL, pid = NULL"
                " WHERE id = (SELECT id FROM jobs WHERE status = 'queued'"
                "             ORDER BY priority DESC, id ASC LIMIT 1)"
                " AND status = 'queued'",
                (worker_id, lease, now, now),
            )
            if cur.rowcount != 1:
                return None
            row = conn.execute("SELECT * FROM jobs WHERE lease = ?", (lease,)).fetchone()
        return Job.from_row(row)

    def set_pid(self, job_id: int, *, lease: str, pid: int) -> None:
        with self._write() as conn:
            conn.execute("UPDATE jobs SET pid = ? WHERE id = ? AND lease = ?", (pid, job_id, lease))

    def heartbeat(self, job_id: int, *, lease: str) -> Beat:
        """Prove this run is alive; the answer says whether it still owns the job and whether to stop."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND lease = ? AND status = 'running'",
                (self._clock(), job_id, lease),
            )
            if cur.rowcount != 1:
                return Beat(alive=False, cancel_requested=False)
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Beat(alive=True, cancel_requested=bool(row[0]))

    def finish(
        self,
        job_id: int,
        *,
        lease: str,
        status: JobStatus,
        error: str | None,
        exit_code: int | None,
        count_attempt: bool = True,
    ) -> JobStatus | None:
        """Record how a run ended; returns the stored status, or None when the lease was already lost."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT cancel_requested FROM jobs WHERE id = ? AND lease = ? AND status = 'running'",
                (job_id, lease),
            ).fetchone()
            if row is None:
                return None
            if status is JobStatus.QUEUED and row[0]:
                # A cancel that arrived while the worker was stopping for another reason wins.
                status, error = JobStatus.CANCELLED, "cancelled while running"
            conn.execute(
                "UPDATE jobs SET status = ?, error = ?, exit_code = ?, attempts = attempts - ?,"
                " finished_at = ?, lease = NULL, pid = NULL WHERE id = ?",
                (status.value, error, exit_code, 0 if count_attempt else 1,
                 None if status is JobStatus.QUEUED else self._clock(), job_id),
            )
        return status

    def reclaim_stale(self, *, stale_after: float) -> list[int]:
        """Requeue running jobs whose worker stopped sending heartbeats (killed, machine rebooted).

        The vanished run counts as an attempt, so a job that keeps taking its machine down ends failed.
        """
        cutoff = self._clock() - stale_after
        reclaimed: list[int] = []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, worker_id, attempts, max_attempts, cancel_requested FROM jobs"
                " WHERE status = 'running' AND heartbeat_at < ?",
                (cutoff,),
            ).fetchall()
            for row in rows:
                status, error = _stale_verdict(row, stale_after=stale_after)
                conn.execute(
                    "UPDATE jobs SET status = ?, error = ?, lease = NULL, pid = NULL, finished_at = ?"
                    " WHERE id = ?",
                    (status.value, error, None if status is JobStatus.QUEUED else self._clock(), row["id"]),
                )
                log.warning("Job %d: %s; it is now %s.", row["id"], error, status.value)
                reclaimed.append(int(row["id"]))
        return reclaimed


def _statements() -> list[str]:
    return [s.strip() for s in _SCHEMA.split(";") if s.strip()]


def _status_of(conn: sqlite3.Connection, job_id: int, home: JobHome) -> JobStatus:
    row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobError(f"There is no job {job_id} in {home.root}; run 'ganfactory jobs list' to see the ids.")
    return JobStatus(row[0])


def _refuse_shared_run_folder(conn: sqlite3.Connection, folder: str | None, *, job_id: int | None) -> None:
    # Two live jobs writing one run folder would corrupt each other's checkpoints and manifest.
    if folder is None:
        return
    row = conn.execute(
        "SELECT id, status FROM jobs WHERE run_folder = ? AND status IN (?, ?) AND id IS NOT ? LIMIT 1",
        (folder, *_ACTIVE, job_id),
    ).fetchone()
    if row is not None:
        raise JobError(
            f"Job {row['id']} ({row['status']}) already writes to {folder}; "
            "wait for it, cancel it, or choose another output folder."
        )


def _stale_verdict(row: sqlite3.Row, *, stale_after: float) -> tuple[JobStatus, str]:
    error = f"worker {row['worker_id']} sent no heartbeat for {stale_after:g} s (killed or rebooted)"
    if row["cancel_requested"]:
        return JobStatus.CANCELLED, error
    if row["attempts"] >= row["max_attempts"]:
        return JobStatus.FAILED, f"{error}; gave up after {row['attempts']} attempts"
    return JobStatus.QUEUED, error
