"""The job queue: one database that any number of workers and clients share safely.

The logic is written once, in SQL both backends speak: every state change is one short write
transaction that locks what it reads (SQLite: the whole database, `BEGIN IMMEDIATE`; PostgreSQL: the
rows, `FOR UPDATE`), so two workers can never claim the same job, and a run is identified by a lease
token: a worker whose lease was taken away (it was presumed dead and its job reclaimed) can no longer
change the job. Time stamps come from the database's clock, so workers on machines whose clocks
differ still agree on when a lease expired.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from ganfactory.jobs.backend import QueueBackend, Transaction
from ganfactory.jobs.backend_sqlite import SqliteBackend
from ganfactory.jobs.errors import JobError
from ganfactory.jobs.home import JobHome, is_postgres_url, resolve_home, resolve_queue_url
from ganfactory.jobs.model import Beat, Job, JobStatus
from ganfactory.output.pathtext import strict_text

log = logging.getLogger(__name__)

_ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class JobQueue:
    """The jobs of one queue. Each call opens its own connection, so any thread may use it.

    backend: where the jobs live (None: the SQLite file of `home`). clock: injectable so tests can age
    heartbeats without sleeping (None: the database's clock). `home` also holds the job logs.
    """

    def __init__(self, home: JobHome, *, backend: QueueBackend | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.home = home
        self.backend = backend if backend is not None else SqliteBackend(database=home.database)
        self._clock = clock
        self.backend.migrate()

    @property
    def location(self) -> str:
        """Where the jobs live, for messages: the SQLite file or the database URL (no password)."""
        return self.backend.location

    def _now(self, tx: Transaction) -> float:
        return self._clock() if self._clock is not None else tx.now()

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
        shard: str = "",
    ) -> int:
        """Queue a job and return its id; refused when an unfinished job already uses the run folder.
        `request`: the typed operator request (OperatorRequest.to_json()) the worker runs; None: run `args`.
        `shard`: "K/N" when the job is one of N that write disjoint shares of one run folder."""
        folder = strict_text(run_folder, role="run folder") if run_folder is not None else None
        cwd = Path(strict_text(cwd, role="working folder"))
        try:
            with self.backend.write() as tx:
                _refuse_shared_run_folder(tx, folder, job_id=None, shard=shard)
                row = tx.execute(
                    "INSERT INTO jobs (operator, args, run_folder, cwd, priority, max_attempts, nproc,"
                    " max_restarts, created_at, request, shard) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (operator, json.dumps(list(args)), folder, str(cwd), priority, max_attempts, nproc,
                     max_restarts, self._now(tx), None if request is None else json.dumps(request), shard),
                ).fetchone()
                job_id = int(row["id"])
                tx.execute("UPDATE jobs SET log_path = ? WHERE id = ?", (str(self.home.log_for(job_id)), job_id))
        except self.backend.integrity_error as exc:
            # Another client queued a job for this folder between our check and our insert.
            raise JobError(f"Another unfinished job already writes to {folder}; "
                           "wait for it, cancel it, or choose another output folder.") from exc
        log.debug("Queued job %d: %s %s", job_id, operator, " ".join(args))
        return job_id

    def get(self, job_id: int) -> Job:
        with self.backend.read() as tx:
            row = tx.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobError(f"There is no job {job_id} in {self.location}; run 'ganfactory jobs list' to see the ids.")
        return Job.from_row(row)

    def list_jobs(self) -> list[Job]:
        """All jobs, oldest first."""
        with self.backend.read() as tx:
            return [Job.from_row(row) for row in tx.execute("SELECT * FROM jobs ORDER BY id").fetchall()]

    def has_active(self) -> bool:
        """Whether any job is queued or running (a running one may still come back to the queue)."""
        with self.backend.read() as tx:
            row = tx.execute("SELECT id FROM jobs WHERE status IN (?, ?) LIMIT 1", _ACTIVE).fetchone()
        return row is not None

    def cancel(self, job_id: int) -> Job:
        """Cancel a queued job now; ask the worker of a running one to stop it gracefully."""
        with self.backend.write() as tx:
            status = _status_of(tx, job_id, self.location)
            if status is JobStatus.QUEUED:
                tx.execute(
                    "UPDATE jobs SET status = 'cancelled', finished_at = ?, error = 'cancelled before it ran'"
                    " WHERE id = ?",
                    (self._now(tx), job_id),
                )
            elif status is JobStatus.RUNNING:
                tx.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            else:
                raise JobError(f"Job {job_id} is already {status.value}, so there is nothing to cancel.")
        return self.get(job_id)

    def retry(self, job_id: int) -> Job:
        """Put a failed or cancelled job back in the queue with a fresh count of attempts."""
        try:
            with self.backend.write() as tx:
                status = _status_of(tx, job_id, self.location)
                if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                    raise JobError(
                        f"Job {job_id} is {status.value}; only failed or cancelled jobs can be retried "
                        "(submit the command again to run a finished job once more)."
                    )
                row = tx.execute("SELECT run_folder, shard FROM jobs WHERE id = ?", (job_id,)).fetchone()
                _refuse_shared_run_folder(tx, row["run_folder"], job_id=job_id, shard=row["shard"])
                tx.execute(
                    "UPDATE jobs SET status = 'queued', attempts = 0, error = NULL, exit_code = NULL,"
                    " cancel_requested = 0, finished_at = NULL WHERE id = ?",
                    (job_id,),
                )
        except self.backend.integrity_error as exc:
            raise JobError(f"Another unfinished job now writes to job {job_id}'s run folder; "
                           "wait for it or cancel it, then retry.") from exc
        return self.get(job_id)

    # -- workers -----------------------------------------------------------------------------

    def claim_next(self, worker_id: str, *, host: str | None = None, gpu: str | None = None) -> Job | None:
        """Atomically take the most urgent queued job for this worker; None when nothing is queued.
        host, gpu: where the worker runs, shown by `jobs list`."""
        lease = uuid.uuid4().hex
        with self.backend.write() as tx:
            # The candidate row is locked (PostgreSQL: rows other workers are claiming are skipped, so
            # claims never queue up behind each other; SQLite: the whole database is). `AND status =
            # 'queued'` plus the rowcount check keep a claim exclusive even if the locking were weakened.
            row = tx.execute(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY priority DESC, id ASC LIMIT 1"
                + tx.skip_locked
            ).fetchone()
            if row is None:
                return None
            now = self._now(tx)
            claimed = tx.execute(
                "UPDATE jobs SET status = 'running', worker_id = ?, worker_host = ?, worker_gpu = ?, lease = ?,"
                " attempts = attempts + 1, heartbeat_at = ?, started_at = ?, finished_at = NULL,"
                " exit_code = NULL, pid = NULL WHERE id = ? AND status = 'queued' RETURNING *",
                (worker_id, host, gpu, lease, now, now, row["id"]),
            ).fetchone()
        return None if claimed is None else Job.from_row(claimed)

    def set_pid(self, job_id: int, *, lease: str, pid: int) -> None:
        with self.backend.write() as tx:
            tx.execute("UPDATE jobs SET pid = ? WHERE id = ? AND lease = ?", (pid, job_id, lease))

    def heartbeat(self, job_id: int, *, lease: str) -> Beat:
        """Prove this run is alive; the answer says whether it still owns the job and whether to stop."""
        with self.backend.write() as tx:
            row = tx.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND lease = ? AND status = 'running'"
                " RETURNING cancel_requested",
                (self._now(tx), job_id, lease),
            ).fetchone()
        if row is None:
            return Beat(alive=False, cancel_requested=False)
        return Beat(alive=True, cancel_requested=bool(row["cancel_requested"]))

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
        with self.backend.write() as tx:
            row = tx.execute(
                "SELECT cancel_requested FROM jobs WHERE id = ? AND lease = ? AND status = 'running'"
                + tx.for_update,
                (job_id, lease),
            ).fetchone()
            if row is None:
                return None
            if status is JobStatus.QUEUED and row["cancel_requested"]:
                # A cancel that arrived while the worker was stopping for another reason wins.
                status, error = JobStatus.CANCELLED, "cancelled while running"
            tx.execute(
                "UPDATE jobs SET status = ?, error = ?, exit_code = ?, attempts = attempts - ?,"
                " finished_at = ?, lease = NULL, pid = NULL WHERE id = ?",
                (status.value, error, exit_code, 0 if count_attempt else 1,
                 None if status is JobStatus.QUEUED else self._now(tx), job_id),
            )
        return status

    def reclaim_stale(self, *, stale_after: float) -> list[int]:
        """Requeue running jobs whose worker stopped sending heartbeats (killed, machine rebooted).

        The vanished run counts as an attempt, so a job that keeps taking its machine down ends failed.
        """
        reclaimed: list[int] = []
        with self.backend.write() as tx:
            now = self._now(tx)
            # Rows another worker is changing right now (a late heartbeat, a claim) are skipped: they are
            # looked at again on the next round.
            rows = tx.execute(
                "SELECT id, worker_id, attempts, max_attempts, cancel_requested FROM jobs"
                " WHERE status = 'running' AND heartbeat_at < ?" + tx.skip_locked,
                (now - stale_after,),
            ).fetchall()
            for row in rows:
                status, error = _stale_verdict(row, stale_after=stale_after)
                tx.execute(
                    "UPDATE jobs SET status = ?, error = ?, lease = NULL, pid = NULL, finished_at = ?"
                    " WHERE id = ?",
                    (status.value, error, None if status is JobStatus.QUEUED else now, row["id"]),
                )
                log.warning("Job %d: %s; it is now %s.", row["id"], error, status.value)
                reclaimed.append(int(row["id"]))
        return reclaimed


def open_queue(home: Path | str | None = None, queue: str | None = None) -> JobQueue:
    """The queue a command names: `queue` (a postgresql:// URL), else $GANFACTORY_QUEUE, else the SQLite file
    in the home folder. The home folder holds the job logs either way."""
    url = resolve_queue_url(queue)
    jobs_home = resolve_home(home)
    if url is None:
        return JobQueue(jobs_home)
    if not is_postgres_url(url):
        raise JobError(f"--queue {url!r} is not a queue this ganfactory knows; give a postgresql://user@host/db URL, "
                       "or leave it out for the SQLite queue in the home folder.")
    from ganfactory.jobs.backend_postgres import PostgresBackend  # psycopg is an optional extra

    return JobQueue(jobs_home, backend=PostgresBackend(url=url))


def _status_of(tx: Transaction, job_id: int, location: str) -> JobStatus:
    row = tx.execute("SELECT status FROM jobs WHERE id = ?" + tx.for_update, (job_id,)).fetchone()
    if row is None:
        raise JobError(f"There is no job {job_id} in {location}; run 'ganfactory jobs list' to see the ids.")
    return JobStatus(row["status"])


def _refuse_shared_run_folder(tx: Transaction, folder: str | None, *, job_id: int | None, shard: str = "") -> None:
    # Two live jobs writing one run folder would corrupt each other's checkpoints and manifest, unless they are
    # different shards of one split (K/N, same N), which write disjoint files and manifests. The unique index
    # jobs_one_active_per_run_folder backs this check up against concurrent submits of the same shard.
    if folder is None:
        return
    rows = tx.execute(
        "SELECT id, status, shard FROM jobs WHERE run_folder = ? AND status IN (?, ?) AND id <> ?",
        (folder, *_ACTIVE, -1 if job_id is None else job_id),
    ).fetchall()
    for row in rows:
        if not _disjoint_shards(row["shard"], shard):
            raise JobError(
                f"Job {row['id']} ({row['status']}) already writes to {folder}; "
                "wait for it, cancel it, or choose another output folder."
            )


def _disjoint_shards(one: str, other: str) -> bool:
    if not one or not other or one == other:
        return False
    return one.split("/")[1] == other.split("/")[1]


def _stale_verdict(row: dict, *, stale_after: float) -> tuple[JobStatus, str]:
    error = f"worker {row['worker_id']} sent no heartbeat for {stale_after:g} s (killed or rebooted)"
    if row["cancel_requested"]:
        return JobStatus.CANCELLED, error
    if row["attempts"] >= row["max_attempts"]:
        return JobStatus.FAILED, f"{error}; gave up after {row['attempts']} attempts"
    return JobStatus.QUEUED, error
