"""Shared helpers for the job queue tests: both queue backends, a fake operator and a worker that runs it.

Every test that uses a queue (through `home`, `queue`, `work` or `start_worker`) runs twice, once per backend:
`queue_url` is parametrised over the embedded SQLite file and a PostgreSQL database (a fresh one per test, in a
throwaway cluster this session starts; see `postgres_server`). For PostgreSQL it also sets $GANFACTORY_QUEUE, so
the commands, the CLI and worker subprocesses the test starts use that database too.

The fake operator behaves like a real one where the queue cares (resume from OUT, atomic
checkpoints, manifest without duplicates, progress.json, exit 75 on SIGTERM, exit 2 on bad input),
so the queue and worker mechanics are tested in seconds, without torch.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ganfactory.jobs.home import QUEUE_ENV
from ganfactory.jobs.model import Job
from ganfactory.jobs.queue import JobQueue, open_queue
from ganfactory.jobs.worker import run_worker

FAKE_OPERATOR = r'''
import argparse, fcntl, json, os, signal, sys, time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--total", type=int, default=10)
parser.add_argument("--step-time", type=float, default=0.02)
parser.add_argument("--fail-code", type=int, default=None)   # exit with this code on every run
parser.add_argument("--fail-times", type=int, default=0)     # crash (exit 1) on the first K runs
parser.add_argument("--same-crash", action="store_true")      # the same crash message every run (else: numbered)
parser.add_argument("--record", default=None)                # shared JSON-lines file of run events
parser.add_argument("--ignore-term", action="store_true")     # a hung job that never honours SIGTERM
parser.add_argument("--exclusive", action="store_true")       # record "overlap" if another run holds OUT's lock
args = parser.parse_args()

out = Path(args.out)
(out / "model").mkdir(parents=True, exist_ok=True)
(out / "logs").mkdir(exist_ok=True)
stop = []
signal.signal(signal.SIGTERM,
              (lambda signum, frame: None) if args.ignore_term else (lambda signum, frame: stop.append(signum)))
signal.signal(signal.SIGINT, lambda signum, frame: stop.append(signum))


def atomic_write(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def record(event, **extra):
    if not args.record:
        return
    line = dict(event=event, job=os.environ.get("GANFACTORY_JOB_ID"), worker=os.environ.get("GANFACTORY_WORKER_ID"),
                pid=os.getpid(), out=str(out), time=time.time(), **extra)
    with open(args.record, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(line) + "\n")


if os.environ.get("RANK", "0") != "0":
    # Under torchrun, only rank 0 writes; the others wait for it like data-parallel peers would.
    while not stop and not (out / "output_0.manifest").exists():
        time.sleep(0.01)
    sys.exit(75 if stop else 0)

if args.exclusive:
    # Held until this process dies (the kernel drops it, even after SIGKILL): a second run of the same job
    # while one is alive finds it taken.
    lock = open(out / "run.lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        record("overlap")

runs_file = out / "runs.txt"
runs = int(runs_file.read_text()) + 1 if runs_file.exists() else 1
atomic_write(runs_file, str(runs))
checkpoint = out / "model" / "latest.json"
step = json.loads(checkpoint.read_text())["step"] if checkpoint.exists() else 0
record("start", step=step)
print(f"fake operator run {runs} starting at step {step}", flush=True)
if args.fail_code is not None:
    time.sleep(0.2)  # let torchrun's peers start, so the failure is reported like a real one
    print("error: the fake operator rejects its input; fix the input.", file=sys.stderr, flush=True)
    record("end", code=args.fail_code)
    sys.exit(args.fail_code)
if runs <= args.fail_times:
    crash = "fake crash" if args.same_crash else f"fake crash {runs}"  # a flaky job fails differently each time
    print(f"Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: {crash}", file=sys.stderr)
    record("end", code=1)
    sys.exit(1)

while step < args.total:
    if stop:
        record("interrupted", step=step)
        sys.exit(75)
    time.sleep(args.step_time)
    step += 1
    atomic_write(checkpoint, json.dumps({"step": step}))
    atomic_write(out / "logs" / "progress.json", json.dumps(dict(
        unit="kimg", done=step, total=args.total, sec_per_unit=args.step_time, phase="training", updated=time.time())))
    print(f"step {step}", flush=True)

manifest = out / "output_0.manifest"
present = set()
if manifest.exists():
    present = {json.loads(line)["id"] for line in manifest.read_text().splitlines() if line.strip()}
with manifest.open("a") as handle:
    for index in range(args.total):
        if f"img_{index}" not in present:
            handle.write(json.dumps({"id": f"img_{index}", "source": str(out / f"img_{index}.png")}) + "\n")
record("end", code=0, step=step)
sys.exit(0)
'''

WORKER_SCRIPT = r'''
import json, logging, sys
from ganfactory.jobs.worker import run_worker

from ganfactory.jobs.launch import torchrun_prefix

home, fake_operator, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
logging.basicConfig(level=logging.INFO, format="%(asctime)s worker[%(process)d] %(levelname)s %(message)s")
launcher = (lambda job: torchrun_prefix(job)) if options.pop("torchrun", False) else (lambda job: [sys.executable])
ran = run_worker(home, command_for=lambda job: [*launcher(job), fake_operator, *job.args], **options)
print(f"ran {ran}", flush=True)
'''

class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temp folder: trust auth, a Unix socket in that folder (no port to
    collide with another test process), durability off (fsync) since it is thrown away.

    PostgreSQL refuses to run as root, so as root the server and its tools run as the `postgres` user that
    Debian's package creates, and the folder is handed to that user."""

    def __init__(self, *, root: Path, bin_dir: Path) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.url = f"postgresql://postgres@/postgres?host={root}"

    @staticmethod
    def binaries() -> Path | None:
        """The newest installed server's bin folder (Debian keeps it off PATH), else initdb on PATH."""
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
        initdb = found[-1] if found else shutil.which("initdb")
        return Path(initdb).parent if initdb else None

    @classmethod
    def start(cls) -> PostgresCluster:
        bin_dir = cls.binaries()
        missing = "PostgreSQL server binaries not found (initdb); install Debian's 'postgresql' package"
        if bin_dir is None and os.environ.get("GANFACTORY_REQUIRE_POSTGRES"):  # set by .ci/run: never skip there
            pytest.fail(missing)
        if bin_dir is None:
            pytest.skip(missing)
        if os.environ.get("GANFACTORY_REQUIRE_POSTGRES"):
            import psycopg  # noqa: F401  (an ImportError here fails the tests instead of skipping them)
        pytest.importorskip("psycopg", reason="psycopg is missing; pip install 'ganfactory[postgresql]'")
        # Not under pytest's tmp folder: that one is private to root, and the server runs as postgres.
        cluster = cls(root=Path(tempfile.mkdtemp(prefix="ganfactory-pg-")), bin_dir=bin_dir)
        if os.geteuid() == 0:
            shutil.chown(cluster.root, user="postgres", group="postgres")
        data, options = cluster.root / "data", (f"-c listen_addresses='' -k {cluster.root} -c fsync=off "
                                                 "-c synchronous_commit=off -c full_page_writes=off")
        cluster._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                     "--no-sync")
        cluster._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(cluster.root / "server.log"), "-w", "start")
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}"
                               + (log.read_text() if log.exists() else ""))

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"queue_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@/{name}?host={self.root}"

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.split("/")[3].split("?")[0]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


FAST = dict(poll=0.05, heartbeat_every=0.1, stale_after=30.0, stop_timeout=10.0)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for this test process (each xdist worker starts its own)."""
    cluster = PostgresCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def queue_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """None for the SQLite file in `home`; else the URL of a fresh PostgreSQL database, also in $GANFACTORY_QUEUE."""
    monkeypatch.delenv(QUEUE_ENV, raising=False)
    if request.param == "sqlite":
        yield None
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_server")
    url = cluster.create_database()
    monkeypatch.setenv(QUEUE_ENV, url)
    try:
        yield url
    finally:
        cluster.drop_database(url)


@pytest.fixture
def home(tmp_path: Path, queue_url: str | None) -> Path:
    """The jobs home (logs; the SQLite file). Through queue_url, every test that uses it runs on both backends."""
    return tmp_path / "home"


@pytest.fixture
def queue(home: Path, queue_url: str | None) -> JobQueue:
    return open_queue(home, queue_url)


@pytest.fixture
def make_queue(home: Path, queue_url: str | None) -> Callable[..., JobQueue]:
    """Another JobQueue on the same jobs (e.g. with an injected clock)."""

    def make(**options: object) -> JobQueue:
        base = open_queue(home, queue_url)
        return JobQueue(base.home, backend=base.backend, **options)

    return make


@pytest.fixture
def fake_operator(tmp_path: Path) -> Path:
    path = tmp_path / "fake_operator.py"
    path.write_text(FAKE_OPERATOR)
    return path


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    return tmp_path / "record.jsonl"


@pytest.fixture
def submit_fake(queue: JobQueue, tmp_path: Path, record_file: Path) -> Callable[..., int]:
    """Queue a fake-operator job writing to tmp_path/NAME; extra arguments go to the fake operator."""

    def submit(name: str, *extra: str, total: int = 10, step_time: float = 0.02, **options: int) -> int:
        out = tmp_path / name
        args = [str(out), "--total", str(total), "--step-time", str(step_time), "--record", str(record_file), *extra]
        return queue.submit(operator="fake", args=args, run_folder=out, cwd=tmp_path, **options)

    return submit


@pytest.fixture
def command_for(fake_operator: Path) -> Callable[[Job], list[str]]:
    return lambda job: [sys.executable, str(fake_operator), *job.args]


@pytest.fixture
def work(home: Path, queue_url: str | None, command_for: Callable[[Job], list[str]]) -> Callable[..., int]:
    """Run a worker in this process (or a thread) until nothing is queued or running."""

    def run(**options: object) -> int:
        return run_worker(home, command_for=command_for, queue=queue_url,
                          **{**FAST, "exit_when_idle": True, **options})

    return run


@pytest.fixture
def start_worker(home: Path, fake_operator: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start a worker in its own process (so it can be signalled or killed); options go to run_worker."""
    script = tmp_path / "worker_main.py"
    script.write_text(WORKER_SCRIPT)
    started: list[subprocess.Popen] = []

    def start(**options: object) -> subprocess.Popen:
        settings = {**FAST, **options}  # the queue: $GANFACTORY_QUEUE, set by queue_url for PostgreSQL
        with (tmp_path / f"worker{len(started)}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, str(script), str(home), str(fake_operator), json.dumps(settings)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:  # only the workers this test started
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Kit:
    """Small helpers for the tests, handed out by the `kit` fixture (conftest modules are not importable)."""

    @staticmethod
    def wait_for(predicate: Callable[[], object], *, timeout: float = 20.0, what: str = "condition") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    @staticmethod
    def checkpoint_step(out: Path) -> int:
        try:
            return json.loads((out / "model" / "latest.json").read_text())["step"]
        except (FileNotFoundError, ValueError):
            return 0

    @staticmethod
    def manifest_ids(out: Path) -> list[str]:
        return [json.loads(line)["id"] for line in (out / "output_0.manifest").read_text().splitlines() if line.strip()]

    @staticmethod
    def records(path: Path) -> list[dict]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    @staticmethod
    def process_alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # A zombie still answers kill(0); it is dead for our purposes.
        try:
            with open(f"/proc/{pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return True


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
