"""The worker with a fake operator: completion, failures and retries, cancel, crashes, signals, two workers."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from ganfactory.jobs.commands import logs
from ganfactory.jobs.launch import torchrun_prefix
from ganfactory.jobs.model import JobStatus
from ganfactory.jobs.worker import run_worker

pytestmark = pytest.mark.subprocess  # child processes: run after the fast files (tests/conftest.py)


def test_a_submitted_job_runs_to_done(home, queue, submit_fake, work, tmp_path, kit) -> None:
    job_id = submit_fake("run", total=8)
    assert work() == 1
    job = queue.get(job_id)
    assert (job.status, job.attempts, job.exit_code, job.error) == (JobStatus.DONE, 1, 0, None)
    assert kit.checkpoint_step(tmp_path / "run") == 8
    assert kit.manifest_ids(tmp_path / "run") == [f"img_{i}" for i in range(8)]
    text = job.log_path.read_text()
    assert "==> ganfactory jobs: job 1, attempt 1/3" in text and "step 8" in text
    assert list(logs(home, job_id))[-1] == "step 8"


def test_exit_2_fails_at_once_with_the_operators_message(home, queue, submit_fake, work, record_file,
                                                         kit) -> None:
    job_id = submit_fake("bad", "--fail-code", "2", max_attempts=5)
    work()
    job = queue.get(job_id)
    assert (job.status, job.attempts, job.exit_code) == (JobStatus.FAILED, 1, 2)
    assert job.error == "the fake operator rejects its input; fix the input."
    assert len([r for r in kit.records(record_file) if r["event"] == "start"]) == 1


def test_crashes_are_retried_and_resume(home, queue, submit_fake, work, tmp_path, kit) -> None:
    job_id = submit_fake("flaky", "--fail-times", "2", total=5, max_attempts=3)
    work()
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 3)
    assert kit.manifest_ids(tmp_path / "flaky") == [f"img_{i}" for i in range(5)]


def test_max_attempts_is_respected(home, queue, submit_fake, work, record_file, kit) -> None:
    job_id = submit_fake("broken", "--fail-times", "99", max_attempts=2)
    work()
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.error == "RuntimeError: fake crash 2 (gave up after 2 attempts)"
    assert len([r for r in kit.records(record_file) if r["event"] == "start"]) == 2


def test_a_crash_that_repeats_itself_is_not_tried_a_third_time(home, queue, submit_fake, work, record_file,
                                                               kit) -> None:
    """Issue 13, fault 10, through a real worker: the same error on the same input twice ends the job."""
    job_id = submit_fake("stuck", "--fail-times", "99", "--same-crash", max_attempts=5)
    work()
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.error.startswith("RuntimeError: fake crash (failed the same way twice")
    assert len([r for r in kit.records(record_file) if r["event"] == "start"]) == 2


def test_cancel_a_queued_job_and_a_running_one_then_retry(home, queue, submit_fake, work, tmp_path,
                                                          record_file, kit) -> None:
    running = submit_fake("long", total=150, step_time=0.01, priority=1)
    waiting = submit_fake("never")
    assert queue.cancel(waiting).status is JobStatus.CANCELLED
    thread = threading.Thread(target=work)
    thread.start()
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "long") >= 3, what="a few checkpoints")
    queue.cancel(running)
    thread.join(timeout=20)
    assert not thread.is_alive()
    job = queue.get(running)
    assert job.status is JobStatus.CANCELLED and job.attempts == 1
    assert kit.checkpoint_step(tmp_path / "long") < 150
    assert [r["event"] for r in kit.records(record_file)] == ["start", "interrupted"]  # stopped gracefully
    assert not (tmp_path / "never").exists()
    queue.retry(running)
    work()
    assert queue.get(running).status is JobStatus.DONE
    assert kit.manifest_ids(tmp_path / "long") == [f"img_{i}" for i in range(150)]


def test_a_worker_whose_job_was_reclaimed_kills_its_copy_and_keeps_out(home, queue, make_queue, submit_fake, work,
                                                                       tmp_path, record_file, kit) -> None:
    job_id = submit_fake("stolen", total=300, step_time=0.01)
    thread = threading.Thread(target=work, kwargs={"max_jobs": 1})
    thread.start()
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "stolen") >= 2, what="a checkpoint")
    # Another worker believes this one dead (say, after a long suspend) and takes the job back.
    make_queue(clock=lambda: 1e12).reclaim_stale(stale_after=1)
    thread.join(timeout=20)
    assert not thread.is_alive()
    job = queue.get(job_id)
    assert (job.status, job.lease, job.attempts) == (JobStatus.QUEUED, None, 1)  # untouched by the old worker
    assert [r["event"] for r in kit.records(record_file)] == ["start"]  # killed at once, no checkpoint-and-exit
    assert kit.checkpoint_step(tmp_path / "stolen") < 300


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL on process groups")
def test_kill_9_worker_and_job_then_a_new_worker_resumes(home, queue, submit_fake, start_worker, tmp_path,
                                                         kit) -> None:
    job_id = submit_fake("crash", total=150, step_time=0.01)
    first = start_worker()
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "crash") >= 20, what="checkpoints")
    child = kit.wait_for(lambda: queue.get(job_id).pid, what="the job's pid")
    os.kill(first.pid, signal.SIGKILL)  # the machine "loses power": both die at once
    os.killpg(child, signal.SIGKILL)
    first.wait()
    kit.wait_for(lambda: not kit.process_alive(child), what="the job to die")
    saved = kit.checkpoint_step(tmp_path / "crash")
    assert queue.get(job_id).status is JobStatus.RUNNING  # nobody has told the queue yet
    second = start_worker(stale_after=0.6, heartbeat_every=0.15, exit_when_idle=True)
    assert second.wait(timeout=30) == 0
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert "sent no heartbeat" not in (job.error or "")  # a successful run clears the reclaim note
    assert kit.checkpoint_step(tmp_path / "crash") == 150 > saved
    ids = kit.manifest_ids(tmp_path / "crash")
    assert sorted(ids) == sorted(f"img_{i}" for i in range(150)) and len(ids) == len(set(ids))
    assert "starting at step" in job.log_path.read_text().split("attempt 2/3")[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_kill_9_of_the_worker_alone_stops_its_job_gracefully(home, queue, submit_fake, start_worker, tmp_path,
                                                             record_file, kit) -> None:
    job_id = submit_fake("orphan", total=2000, step_time=0.01)
    worker = start_worker()
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "orphan") >= 2, what="a checkpoint")
    child = kit.wait_for(lambda: queue.get(job_id).pid, what="the job's pid")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    # No orphan keeps training next to the copy a new worker will start: it saved and exited.
    kit.wait_for(lambda: not kit.process_alive(child), timeout=10, what="the orphaned job to stop")
    assert [r["event"] for r in kit.records(record_file)] == ["start", "interrupted"]


def test_sigterm_to_the_worker_requeues_the_job_without_using_an_attempt(home, queue, submit_fake, start_worker,
                                                                          tmp_path, record_file, kit) -> None:
    job_id = submit_fake("term", total=2000, step_time=0.01)
    worker = start_worker()
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "term") >= 2, what="a checkpoint")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    job = queue.get(job_id)
    assert (job.status, job.attempts, job.lease) == (JobStatus.QUEUED, 0, None)
    assert [r["event"] for r in kit.records(record_file)] == ["start", "interrupted"]
    assert kit.checkpoint_step(tmp_path / "term") < 2000


def test_a_job_that_ignores_sigterm_is_killed_after_the_stop_timeout(home, queue, submit_fake, start_worker,
                                                                     tmp_path, kit) -> None:
    job_id = submit_fake("hung", "--ignore-term", total=2000, step_time=0.01)
    worker = start_worker(stop_timeout=0.5)
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "hung") >= 2, what="a checkpoint")
    child = queue.get(job_id).pid
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert not kit.process_alive(child)
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)  # resumes from its last checkpoint later
    assert "did not stop within" in (tmp_path / "worker0.log").read_text()


def test_two_workers_never_run_the_same_job(home, queue, submit_fake, start_worker, record_file, tmp_path,
                                            kit) -> None:
    ids = [submit_fake(f"job{i}", total=10, step_time=0.025) for i in range(8)]
    workers = [start_worker(exit_when_idle=True, poll=0.02) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=40) == 0
    assert all(queue.get(job_id).status is JobStatus.DONE for job_id in ids)
    events = kit.records(record_file)
    starts = [e for e in events if e["event"] == "start"]
    assert sorted(int(e["job"]) for e in starts) == sorted(ids)  # each job ran exactly once
    for job_id in ids:  # and its run was one start..end interval in one worker
        mine = [e for e in events if int(e["job"]) == job_id]
        assert [e["event"] for e in mine] == ["start", "end"] and mine[0]["worker"] == mine[1]["worker"]
    assert len({e["worker"] for e in starts}) == 2, "both workers should have taken jobs"


def test_logs_follow_streams_until_the_job_ends(home, queue, submit_fake, work) -> None:
    job_id = submit_fake("followed", total=15, step_time=0.01)
    thread = threading.Thread(target=work)
    thread.start()
    lines = list(logs(home, job_id, follow=True, poll=0.02))
    thread.join(timeout=20)
    assert lines[-1] == "step 15" and lines[0].startswith("==> ganfactory jobs: job")


def test_under_torchrun_a_ranks_exit_2_fails_the_job_at_once(home, queue, submit_fake, fake_operator,
                                                              record_file, kit) -> None:
    job_id = submit_fake("multi-bad", "--fail-code", "2", nproc=2, max_attempts=3)
    run_worker(home, command_for=lambda job: [*torchrun_prefix(job), str(fake_operator), *job.args],
               exit_when_idle=True, poll=0.05, heartbeat_every=0.2, stale_after=30)
    job = queue.get(job_id)
    assert (job.status, job.attempts, job.exit_code) == (JobStatus.FAILED, 1, 1)  # torchrun itself exits 1
    assert job.error == "the fake operator rejects its input; fix the input."


def test_sigterm_to_a_torchrun_job_saves_requeues_and_resumes(home, queue, submit_fake, start_worker, tmp_path,
                                                               record_file, kit) -> None:
    job_id = submit_fake("multi", total=100, step_time=0.01, nproc=2)
    worker = start_worker(torchrun=True)
    kit.wait_for(lambda: kit.checkpoint_step(tmp_path / "multi") >= 2, what="a checkpoint under torchrun")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=40) == 0
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)
    assert [r["event"] for r in kit.records(record_file)] == ["start", "interrupted"]  # rank 0 saved and left
    assert start_worker(torchrun=True, exit_when_idle=True).wait(timeout=40) == 0
    assert queue.get(job_id).status is JobStatus.DONE
    assert kit.manifest_ids(tmp_path / "multi") == [f"img_{i}" for i in range(100)]
