"""Workers on several machines sharing one PostgreSQL queue: one machine dies mid-job, the others finish its job.

Three workers run as separate processes (each named as its own host) against one PostgreSQL database, like workers
on three GPU boxes with the run folders on shared storage. One worker and its job are killed with SIGKILL (the
machine loses power). Its lease expires on the database's clock, a surviving worker reclaims the job and resumes it
from the run folder's checkpoint.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter, defaultdict

import pytest

from ganfactory.jobs.commands import format_table, list_jobs
from ganfactory.jobs.model import JobStatus

pytestmark = pytest.mark.subprocess  # child processes: run after the fast files (tests/conftest.py)

JOBS = 12
STEPS = 40
STEP_TIME = 0.05  # 2 s of "training" per job
# Short leases so the test stays quick: a dead worker's job is reclaimed 1.5 s after its last heartbeat.
TIMING = dict(poll=0.1, heartbeat_every=0.3, stale_after=1.5, stop_timeout=10.0, exit_when_idle=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL of process groups, flock")
@pytest.mark.parametrize("queue_url", ["postgresql"], indirect=True)
def test_three_workers_one_killed_every_job_done_once_and_resumed(home, queue, submit_fake, start_worker,
                                                                 tmp_path, record_file, kit) -> None:
    folders = {submit_fake(f"run{i}", "--exclusive", total=STEPS, step_time=STEP_TIME): tmp_path / f"run{i}"
               for i in range(JOBS)}
    began = time.time()
    workers = {f"box{i}": start_worker(host=f"box{i}", **TIMING) for i in range(3)}

    def mid_job():  # after the first round of jobs, one some way into its run, with steps still to go
        jobs = queue.list_jobs()
        if sum(job.status is JobStatus.DONE for job in jobs) < 3:
            return None
        for job in jobs:
            if job.status is JobStatus.RUNNING and job.pid and 5 <= kit.checkpoint_step(folders[job.id]) <= 20:
                return job
        return None

    victim = kit.wait_for(mid_job, timeout=40, what="a job in the middle of its run")
    os.kill(workers[victim.worker_host].pid, signal.SIGKILL)  # the machine loses power: worker and job at once
    os.killpg(victim.pid, signal.SIGKILL)
    killed_at = time.time()
    workers[victim.worker_host].wait()
    kit.wait_for(lambda: not kit.process_alive(victim.pid), what="the killed job to die")
    saved = kit.checkpoint_step(folders[victim.id])
    assert 5 <= saved < STEPS

    for host, proc in workers.items():
        if host != victim.worker_host:
            assert proc.wait(timeout=90) == 0, (tmp_path / f"worker{int(host[3:])}.log").read_text()
    elapsed = time.time() - began

    jobs = {job.id: job for job in queue.list_jobs()}
    assert all(job.status is JobStatus.DONE for job in jobs.values()), {j.id: j.status for j in jobs.values()}
    assert {job_id: job.attempts for job_id, job in jobs.items()} == {
        job_id: 2 if job_id == victim.id else 1 for job_id in jobs}
    survivors = set(workers) - {victim.worker_host}
    assert jobs[victim.id].worker_host in survivors  # finished on another machine

    records = kit.records(record_file)
    assert not [r for r in records if r["event"] == "overlap"], "a job ran twice at once"
    ends = Counter(int(r["job"]) for r in records if r["event"] == "end" and r["code"] == 0)
    assert ends == {job_id: 1 for job_id in jobs}  # every job completed exactly once
    runs = _runs_by_job(records, killed_job=victim.id, killed_at=killed_at)
    for job_id, spans in runs.items():
        for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
            assert start >= end, f"job {job_id} ran on two workers at once"
    (first_start, _, first_worker), (resumed_at, _, resumed_worker) = runs[victim.id]
    assert first_worker.startswith(victim.worker_host) and not resumed_worker.startswith(victim.worker_host)
    resumed_step = next(r["step"] for r in records if r["event"] == "start" and int(r["job"]) == victim.id
                        and r["time"] == resumed_at)
    assert resumed_step == saved  # resumed from its checkpoint, not from the start
    for folder in folders.values():
        ids = kit.manifest_ids(folder)
        assert sorted(ids) == sorted(f"img_{i}" for i in range(STEPS)) and len(ids) == len(set(ids))

    table = format_table(list_jobs(home))
    assert "WORKER" in table.splitlines()[0]
    assert all(any(host in line for host in workers) for line in table.splitlines()[1:])
    per_worker = Counter(job.worker_host for job in jobs.values())
    print(f"\n{JOBS} jobs, 3 workers, one killed at step {saved}/{STEPS}: all done in {elapsed:.1f} s; "
          f"killed job resumed {resumed_at - killed_at:.2f} s after the kill (stale_after "
          f"{TIMING['stale_after']} s) on {jobs[victim.id].worker_host}; jobs finished per worker "
          f"{dict(sorted(per_worker.items()))}")


def _runs_by_job(records: list[dict], *, killed_job: int, killed_at: float) -> dict[int, list[tuple]]:
    """Per job, its runs in order as (start time, end time, worker id); the killed run ends at the kill."""
    runs: dict[int, list[tuple]] = defaultdict(list)
    open_runs: dict[int, tuple[float, str]] = {}
    for record in sorted(records, key=lambda r: r["time"]):
        job_id = int(record["job"])
        if record["event"] == "start":
            if job_id in open_runs:  # a run that never recorded its end: the one killed with its machine
                assert job_id == killed_job
                start, worker = open_runs.pop(job_id)
                runs[job_id].append((start, killed_at, worker))
            open_runs[job_id] = (record["time"], record["worker"])
        elif record["event"] in ("end", "interrupted"):
            start, worker = open_runs.pop(job_id)
            runs[job_id].append((start, record["time"], worker))
    assert not open_runs
    return dict(runs)
