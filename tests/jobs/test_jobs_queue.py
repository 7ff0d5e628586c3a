"""The SQLite queue on its own: ordering, atomic claims, leases, cancel/retry and stale reclaim."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ganfactory.errors import GanFactoryError
from ganfactory.jobs.home import HOME_ENV, resolve_home
from ganfactory.jobs.model import JobStatus
from ganfactory.jobs.queue import JobQueue


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


def test_reclaim_stale_requeues_counts_the_attempt_and_fences_the_old_lease(home: Path) -> None:
    now = [1000.0]
    queue = JobQueue(resolve_home(home), clock=lambda: now[0])
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


def test_reclaim_of_a_job_being_cancelled_cancels_it(home: Path) -> None:
    now = [0.0]
    queue = JobQueue(resolve_home(home), clock=lambda: now[0])
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


def test_database_uses_wal(queue: JobQueue) -> None:
    conn = sqlite3.connect(queue.home.database)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_database_from_a_newer_version_is_refused(queue: JobQueue) -> None:
    conn = sqlite3.connect(queue.home.database)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(GanFactoryError, match="newer ganfactory"):
        JobQueue(queue.home)
