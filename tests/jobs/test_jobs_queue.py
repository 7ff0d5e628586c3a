"""The queue on its own, on both backends (SQLite and PostgreSQL, see conftest's `queue_url`): ordering, atomic
claims, leases, cancel/retry, stale reclaim, schema versions and migrations."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ganfactory.errors import GanFactoryError
from ganfactory.jobs.backend import SCHEMA_VERSION
from ganfactory.jobs.home import HOME_ENV, QUEUE_ENV, resolve_home
from ganfactory.jobs.model import JobStatus
from ganfactory.jobs.queue import JobQueue, open_queue

sqlite_only = pytest.mark.parametrize("queue_url", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize("queue_url", ["postgresql"], indirect=True)


def _submit(queue: JobQueue, name: str, **options: int) -> int:
    out = Path("/tmp/ganfactory-test-runs") / name
    return queue.submit(operator="stylegan", args=["data", str(out)], run_folder=out, cwd=Path("/tmp"), **options)


def test_submit_then_get_and_list_round_trip(queue: JobQueue) -> None:
    job_id = _submit(queue, "a", priority=2, max_attempts=5, nproc=2, max_restarts=1)
    job = queue.get(job_id)
    assert (job.operator, job.args, job.status, job.priority) == ("stylegan", ("data", "/tmp/ganfactory-test-runs/a"),
                                                                  JobStatus.QUEUED, 2)
    assert (job.max_attempts, job.nproc, job.max_restarts, job.attempts) == (5, 2, 1, 0)
    assert job.log_path == queue.home.log_for(job_id)
    assert job.command_line == "ganfactory stylegan data /tmp/ganfactory-test-runs/a"
    assert [j.id for j in queue.list_jobs()] == [job_id]


def test_unknown_job_is_a_one_sentence_error(queue: JobQueue) -> None:
    with pytest.raises(GanFactoryError, match=r"There is no job 42 .*jobs list"):
        queue.get(42)


def test_claim_order_is_priority_then_age(queue: JobQueue) -> None:
    low, high, high_later = _submit(queue, "a"), _submit(queue, "b", priority=5), _submit(queue, "c", priority=5)
    claimed = [queue.claim_next("w").id for _ in range(3)]
    assert claimed == [high, high_later, low]
    assert queue.claim_next("w") is None
    job = queue.get(high)
    assert (job.status, job.attempts, job.worker_id) == (JobStatus.RUNNING, 1, "w")
    assert job.lease and job.heartbeat_at and job.started_at


def test_concurrent_claims_never_hand_out_a_job_twice(queue: JobQueue) -> None:
    ids = {_submit(queue, f"job{i}") for i in range(40)}
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        # Each call opens its own connection: these are real concurrent SQLite writers.
        while (job := queue.claim_next(name)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)


def test_heartbeat_reports_cancel_and_a_lost_lease(queue: JobQueue) -> None:
    _submit(queue, "a")
    job = queue.claim_next("w")
    assert queue.heartbeat(job.id, lease=job.lease).alive
    queue.cancel(job.id)
    beat = queue.heartbeat(job.id, lease=job.lease)
    assert beat.alive and beat.cancel_requested
    assert not queue.heartbeat(job.id, lease="someone-else").alive


def test_cancel_queued_is_immediate_and_finished_jobs_cannot_be_cancelled(queue: JobQueue) -> None:
    job_id = _submit(queue, "a")
    assert queue.cancel(job_id).status is JobStatus.CANCELLED
    assert queue.claim_next("w") is None
    with pytest.raises(GanFactoryError, match="already cancelled"):
        queue.cancel(job_id)


def test_retry_requeues_with_fresh_attempts_and_refuses_live_jobs(queue: JobQueue) -> None:
    job_id = _submit(queue, "a", max_attempts=1)
    job = queue.claim_next("w")
    queue.finish(job.id, lease=job.lease, status=JobStatus.FAILED, error="boom", exit_code=1)
    again = queue.retry(job_id)
    assert (again.status, again.attempts, again.error, again.exit_code) == (JobStatus.QUEUED, 0, None, None)
    with pytest.raises(GanFactoryError, match="only failed or cancelled"):
        queue.retry(job_id)


def test_two_live_jobs_cannot_share_a_run_folder(queue: JobQueue) -> None:
    first = _submit(queue, "same")
    with pytest.raises(GanFactoryError, match=rf"Job {first} \(queued\) already writes to"):
        _submit(queue, "same")
    job = queue.claim_next("w")
    queue.finish(job.id, lease=job.lease, status=JobStatus.DONE, error=None, exit_code=0)
    assert _submit(queue, "same") > first  # a finished run folder may be resumed/extended again


def test_finish_can_refund_the_attempt_and_a_late_cancel_wins(queue: JobQueue) -> None:
    _submit(queue, "a")
    job = queue.claim_next("w")
    assert queue.finish(job.id, lease=job.lease, status=JobStatus.QUEUED, error=None, exit_code=75,
                        count_attempt=False) is JobStatus.QUEUED
    assert queue.get(job.id).attempts == 0
    job = queue.claim_next("w")
    queue.cancel(job.id)
    assert queue.finish(job.id, lease=job.lease, status=JobStatus.QUEUED, error=None, exit_code=75,
                        count_attempt=False) is JobStatus.CANCELLED


def test_reclaim_stale_requeues_counts_the_attempt_and_fences_the_old_lease(make_queue) -> None:
    now = [1000.0]
    queue = make_queue(clock=lambda: now[0])
    _submit(queue, "a", max_attempts=2)
    job = queue.claim_next("dead-worker")
    now[0] += 5
    assert queue.reclaim_stale(stale_after=10) == []
    now[0] += 10
    assert queue.reclaim_stale(stale_after=10) == [job.id]
    after = queue.get(job.id)
    assert (after.status, after.attempts, after.lease) == (JobStatus.QUEUED, 1, None)
    assert "dead-worker" in after.error
    # The vanished worker, should it come back, can no longer touch the job.
    assert not queue.heartbeat(job.id, lease=job.lease).alive
    assert queue.finish(job.id, lease=job.lease, status=JobStatus.DONE, error=None, exit_code=0) is None
    # The second vanishing exhausts max_attempts: failed, not requeued forever.
    queue.claim_next("dead-again")
    now[0] += 20
    queue.reclaim_stale(stale_after=10)
    final = queue.get(job.id)
    assert final.status is JobStatus.FAILED and "gave up after 2 attempts" in final.error


def test_reclaim_of_a_job_being_cancelled_cancels_it(make_queue) -> None:
    now = [0.0]
    queue = make_queue(clock=lambda: now[0])
    _submit(queue, "a")
    job = queue.claim_next("w")
    queue.cancel(job.id)
    now[0] += 100
    queue.reclaim_stale(stale_after=10)
    assert queue.get(job.id).status is JobStatus.CANCELLED


def test_home_comes_from_argument_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert resolve_home(None).root == (tmp_path / "from-env").resolve()
    assert resolve_home(tmp_path / "given").root == (tmp_path / "given").resolve()
    assert (tmp_path / "given" / "logs").is_dir()


@sqlite_only
def test_database_uses_wal(queue: JobQueue) -> None:
    conn = sqlite3.connect(queue.home.database)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_database_from_a_newer_version_is_refused(queue: JobQueue) -> None:
    with queue.backend.write() as tx:
        tx.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(GanFactoryError, match=r"newer ganfactory \(schema 99, this one knows"):
        JobQueue(queue.home, backend=queue.backend)


@sqlite_only
def test_a_sqlite_file_an_older_ganfactory_calls_newer_is_refused(queue: JobQueue) -> None:
    conn = sqlite3.connect(queue.home.database)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(GanFactoryError, match="newer ganfactory"):
        JobQueue(queue.home)


def test_the_schema_version_is_recorded_and_opening_again_changes_nothing(queue: JobQueue) -> None:
    job_id = _submit(queue, "a")
    again = JobQueue(queue.home, backend=queue.backend)
    with again.backend.read() as tx:
        assert [row["version"] for row in tx.execute("SELECT version FROM schema_version").fetchall()] == [
            SCHEMA_VERSION]
    assert again.get(job_id).status is JobStatus.QUEUED


# The jobs table as ganfactory wrote it before the version table (schema 1; schema 2 added `request`).
_LEGACY_TABLE = """CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, operator TEXT NOT NULL, args TEXT NOT NULL,
    run_folder TEXT, cwd TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')), attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3, nproc INTEGER NOT NULL DEFAULT 1, max_restarts INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT, lease TEXT, pid INTEGER, heartbeat_at REAL, created_at REAL NOT NULL, started_at REAL,
    finished_at REAL, cancel_requested INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, error TEXT,
    log_path TEXT NOT NULL DEFAULT ''{request})"""


@sqlite_only
@pytest.mark.parametrize("legacy_version", [1, 2])
def test_a_sqlite_file_from_before_the_version_table_is_migrated(home: Path, legacy_version: int) -> None:
    jobs_home = resolve_home(home)
    conn = sqlite3.connect(jobs_home.database)
    conn.execute(_LEGACY_TABLE.format(request=", request TEXT" if legacy_version == 2 else ""))
    conn.execute("INSERT INTO jobs (operator, args, run_folder, cwd, created_at) VALUES"
                 " ('stylegan', ?, '/runs/old', '/tmp', 1.0)", (json.dumps(["data", "/runs/old"]),))
    conn.execute(f"PRAGMA user_version = {legacy_version}")
    conn.commit()
    conn.close()
    queue = JobQueue(jobs_home)
    old = queue.get(1)
    assert (old.operator, old.args, old.status, old.request, old.worker_host) == (
        "stylegan", ("data", "/runs/old"), JobStatus.QUEUED, None, None)
    job = queue.claim_next("w", host="box1", gpu="NVIDIA H100")
    assert (job.id, job.worker_host, job.worker_gpu) == (1, "box1", "NVIDIA H100")
    with pytest.raises(GanFactoryError, match="already writes to /runs/old"):
        queue.submit(operator="stylegan", args=["d", "/runs/old"], run_folder=Path("/runs/old"), cwd=Path("/tmp"))
    conn = sqlite3.connect(jobs_home.database)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_concurrent_submits_to_one_run_folder_queue_exactly_one(queue: JobQueue) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def submitter() -> None:
        start.wait()
        try:
            _submit(queue, "contested")
            outcome = "queued"
        except GanFactoryError as exc:
            outcome = "refused" if "already writes to" in str(exc) else str(exc)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=submitter) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["queued"] + ["refused"] * 5


def test_claims_record_the_workers_host_and_gpu(queue: JobQueue) -> None:
    _submit(queue, "a")
    _submit(queue, "b")
    first = queue.claim_next("w1", host="gpu-box-1", gpu="NVIDIA H100 80GB HBM3")
    second = queue.claim_next("w2", host="cpu-box")
    assert (first.where, second.where) == ("gpu-box-1 (NVIDIA H100 80GB HBM3)", "cpu-box")
    queue.finish(first.id, lease=first.lease, status=JobStatus.DONE, error=None, exit_code=0)
    assert queue.get(first.id).where == "gpu-box-1 (NVIDIA H100 80GB HBM3)"  # kept: where it ran


@postgresql_only
def test_postgresql_leases_use_the_servers_clock_not_the_workers(queue: JobQueue,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _submit(queue, "a")
    job = queue.claim_next("w")
    assert abs(job.heartbeat_at - time.time()) < 60  # the server's now(), on this machine
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # this worker's clock runs an hour ahead
    assert queue.reclaim_stale(stale_after=60) == []
    assert queue.heartbeat(job.id, lease=job.lease).alive
    assert abs(queue.get(job.id).heartbeat_at - real()) < 60


@postgresql_only
def test_postgresql_claims_skip_rows_another_transaction_holds(queue: JobQueue) -> None:
    first, second = _submit(queue, "a"), _submit(queue, "b")
    with queue.backend.write() as tx:  # another worker in the middle of claiming job `first`
        tx.execute("SELECT id FROM jobs WHERE id = ? FOR UPDATE", (first,))
        claimed = queue.claim_next("w")  # does not wait for that transaction: takes the next job
    assert claimed.id == second
    assert queue.claim_next("w").id == first


def test_queue_urls_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUEUE_ENV, raising=False)
    with pytest.raises(GanFactoryError, match="is not a queue this ganfactory knows"):
        open_queue(tmp_path, "mysql://h/db")
    pytest.importorskip("psycopg")
    with pytest.raises(GanFactoryError, match=r"Cannot connect to the job queue postgresql://u:\*\*\*@/db"):
        open_queue(tmp_path, f"postgresql://u:secret@/db?host={tmp_path}")  # no server there
    monkeypatch.setenv(QUEUE_ENV, "sqlite-please")
    with pytest.raises(GanFactoryError, match="'sqlite-please' is not a queue"):
        open_queue(tmp_path)
