"""Claims per second and claim latency of the job queue with 8 concurrent workers, on each backend.

    python benchmarks/queue_throughput.py [--jobs 1000] [--workers 8] [--postgres URL]

Queues --jobs jobs, then starts --workers processes that each claim a job, mark it done at once and claim again
until the queue is empty (the queue's own cost: no job runs). Prints, per backend, claims/s over the whole drain and
the p50/p95/max latency of one claim_next() call. SQLite: a file in a temp folder. PostgreSQL: --postgres URL, or a
throwaway cluster this script starts from Debian's binaries, listening on 127.0.0.1 only (a free port, trust auth;
as the `postgres` user when run as root). Each call opens its own connection, as the queue does, so the PostgreSQL
figure includes a TCP connect per call. Wall-clock figures on a shared machine: say what else ran.
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ganfactory.jobs.model import JobStatus
from ganfactory.jobs.queue import open_queue


def drain(home: str, url: str | None, start_at: float, results: "multiprocessing.Queue[list[float]]") -> None:
    queue = open_queue(home, url)
    name = f"bench-{os.getpid()}"
    latencies: list[float] = []
    while time.time() < start_at:  # every worker starts together
        time.sleep(0.001)
    while True:
        began = time.perf_counter()
        job = queue.claim_next(name, host="bench")
        latencies.append(time.perf_counter() - began)
        if job is None:
            break
        queue.finish(job.id, lease=job.lease, status=JobStatus.DONE, error=None, exit_code=0)
    results.put(latencies[:-1])  # the last call found the queue empty


def measure(label: str, home: Path, url: str | None, *, jobs: int, workers: int) -> None:
    queue = open_queue(home, url)
    for i in range(jobs):
        queue.submit(operator="bench", args=[str(i)], run_folder=None, cwd=home)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()
    start_at = time.time() + 3.0  # spawn and import first
    procs = [context.Process(target=drain, args=(str(home), url, start_at, results)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    latencies = [value for _ in procs for value in results.get(timeout=600)]
    for proc in procs:
        proc.join()
    elapsed = time.time() - start_at
    done = sum(job.status is JobStatus.DONE for job in queue.list_jobs())
    assert len(latencies) == jobs == done, (len(latencies), jobs, done)
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"{label:<11} {workers} workers, {jobs} jobs: {jobs / elapsed:7.1f} claims/s (claim + finish each), "
          f"claim latency p50 {statistics.median(ordered) * 1e3:6.1f} ms, p95 {p95 * 1e3:6.1f} ms, "
          f"max {ordered[-1] * 1e3:6.1f} ms")


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise SystemExit("PostgreSQL server binaries not found; install Debian's 'postgresql' or pass --postgres URL")
    bin_dir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="ganfactory-pgbench-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, user="postgres", group="postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = lambda *args: subprocess.run([*as_postgres, *map(str, args)], check=True, capture_output=True, cwd=root)  # noqa: E731
    run(bin_dir / "initdb", "-D", root / "data", "-U", "postgres", "-A", "trust", "--no-sync")
    run(bin_dir / "pg_ctl", "-D", root / "data", "-l", root / "log", "-w", "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(bin_dir / "pg_ctl", "-D", root / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (default: a throwaway local cluster)")
    args = parser.parse_args()
    os.environ.pop("GANFACTORY_QUEUE", None)
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", Path(tmp) / "sqlite", None, jobs=args.jobs, workers=args.workers)
        if args.postgres:
            measure("postgresql", Path(tmp) / "pg", args.postgres, jobs=args.jobs, workers=args.workers)
        else:
            with throwaway_postgres() as url:
                measure("postgresql", Path(tmp) / "pg", url, jobs=args.jobs, workers=args.workers)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
