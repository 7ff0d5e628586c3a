"""`ganfactory jobs ...`: the click group and the functions behind it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ganfactory.errors import GanFactoryError
from ganfactory.jobs import commands
from ganfactory.jobs.cli import jobs_group
from ganfactory.jobs.model import JobStatus
from ganfactory.jobs.worker import run_worker


@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let submit parse arguments with a stand-in operator instead of the real command line."""

    @click.command()
    @click.argument("data")
    @click.argument("out")
    @click.option("--total-kimg", type=int, default=300)
    @click.option("--priority", type=int, default=0)  # same name as a submit option, on purpose
    def stylegan(data: str, out: str, total_kimg: int, priority: int) -> None:
        """Stand-in operator."""

    monkeypatch.setattr("ganfactory.jobs.runfolder.operator_command", lambda name: stylegan)


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(jobs_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_submit_passes_everything_after_the_operator_through(home: Path, fake_cli: None, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    output = _invoke("submit", "--home", str(home), "--priority", "7", "--nproc", "2", "--max-restarts", "1",
                     "stylegan", "data", "runs/a", "--total-kimg", "5", "--priority", "3")
    assert output.strip() == "queued job 1"
    job = commands.open_queue(home).get(1)
    assert job.args == ("data", "runs/a", "--total-kimg", "5", "--priority", "3")
    assert (job.priority, job.nproc, job.max_restarts) == (7, 2, 1)
    assert (job.run_folder, job.cwd) == ((tmp_path / "runs" / "a").resolve(), tmp_path.resolve())


def test_submit_refuses_bad_numbers_and_a_busy_run_folder(home: Path, fake_cli: None, tmp_path: Path) -> None:
    with pytest.raises(GanFactoryError, match="--max-attempts must be at least 1"):
        commands.submit(home, "stylegan", ["d", "o"], max_attempts=0, cwd=tmp_path)
    commands.submit(home, "stylegan", ["d", "o"], cwd=tmp_path)
    with pytest.raises(GanFactoryError, match="already writes to"):
        commands.submit(home, "stylegan", ["other-data", "./o"], cwd=tmp_path)


def test_list_show_cancel_retry_and_logs(home: Path, fake_cli: None, tmp_path: Path) -> None:
    job_id = commands.submit(home, "stylegan", ["d", str(tmp_path / "run")], cwd=tmp_path)
    (tmp_path / "run" / "logs").mkdir(parents=True)
    (tmp_path / "run" / "logs" / "progress.json").write_text(json.dumps(
        {"unit": "kimg", "done": 12.3, "total": 300, "sec_per_unit": 2.0, "phase": "training", "updated": 0}))
    (tmp_path / "run" / "config.json").write_text(json.dumps({"total_kimg": 300}))
    table = _invoke("list", "--home", str(home)).splitlines()
    assert table[0].split() == ["ID", "OPERATOR", "STATUS", "TRY", "PROGRESS", "ETA", "STARTED", "WORKER"]
    assert table[1].split()[:5] == [str(job_id), "stylegan", "queued", "0/3", "12.3/300"]
    details = _invoke("show", str(job_id), "--home", str(home))
    assert f"run folder: {tmp_path / 'run'}" in details and '"total_kimg": 300' in details
    assert _invoke("cancel", str(job_id), "--home", str(home)).strip() == f"job {job_id} cancelled"
    assert _invoke("retry", str(job_id), "--home", str(home)).strip() == f"job {job_id} queued"
    with pytest.raises(GanFactoryError, match="has not started yet"):
        _invoke("logs", str(job_id), "--home", str(home))
    queue = commands.open_queue(home)
    job = queue.claim_next("w")
    job.log_path.write_text("line one\nline two\n")
    queue.finish(job.id, lease=job.lease, status=JobStatus.DONE, error=None, exit_code=0)
    assert _invoke("logs", str(job_id), "--follow", "--home", str(home)).splitlines() == ["line one", "line two"]


def test_eta_is_shown_only_for_running_jobs(home: Path, fake_cli: None, tmp_path: Path) -> None:
    commands.submit(home, "stylegan", ["d", str(tmp_path / "run")], cwd=tmp_path)
    (tmp_path / "run" / "logs").mkdir(parents=True)
    (tmp_path / "run" / "logs" / "progress.json").write_text(json.dumps(
        {"unit": "kimg", "done": 100, "total": 300, "sec_per_unit": 30.0, "phase": "training", "updated": 1000.0}))
    commands.open_queue(home).claim_next("w")
    row = commands.format_table(commands.list_jobs(home), now=1000.0).splitlines()[1]
    assert "running" in row and "100/300 kimg" in row and "1h40m" in row


def test_worker_options_are_checked(home: Path) -> None:
    with pytest.raises(GanFactoryError, match="--stale-after"):
        run_worker(home, heartbeat_every=10, stale_after=15)
    with pytest.raises(GanFactoryError, match="--max-jobs"):
        run_worker(home, max_jobs=0)


def test_the_real_command_line_runs_jobs_commands(home: Path) -> None:
    cli = pytest.importorskip("ganfactory.cli")
    if "jobs" not in getattr(getattr(cli, "cli", None), "commands", {}):
        pytest.skip("ganfactory.cli does not wire the jobs group yet")
    result = subprocess.run([sys.executable, "-m", "ganfactory", "jobs", "show", "99", "--home", str(home)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: There is no job 99")
    listing = subprocess.run([sys.executable, "-m", "ganfactory", "jobs", "list", "--home", str(home)],
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and listing.stdout.split()[:2] == ["ID", "OPERATOR"]


@pytest.fixture
def fake_generator_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in operator that takes --shard, like `stylegan ... --predict`."""

    @click.command()
    @click.argument("model")
    @click.argument("out")
    @click.option("--shard", default="")
    def stylegan(model: str, out: str, shard: str) -> None:
        """Stand-in operator."""

    monkeypatch.setattr("ganfactory.jobs.runfolder.operator_command", lambda name: stylegan)


def test_submit_shards_fans_out_jobs_that_share_the_run_folder(
        home: Path, fake_generator_cli: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    output = _invoke("submit", "--home", str(home), "--shards", "3", "--priority", "2", "stylegan", "m", "out")
    assert output.strip() == "queued jobs 1, 2, 3 (shards 1-3 of 3)"
    queue = commands.open_queue(home)
    jobs = queue.list_jobs()
    assert [(job.shard, job.args[-2:], job.priority) for job in jobs] == [
        (f"{k}/3", ("--shard", f"{k}/3"), 2) for k in (1, 2, 3)]
    assert {job.run_folder for job in jobs} == {(tmp_path / "out").resolve()}
    assert "[shard 2/3]" in commands.format_details(commands.show(home, 2))
    with pytest.raises(GanFactoryError, match="Job 1 \\(queued\\) already writes to"):
        commands.submit(home, "stylegan", ["m", "out"], cwd=tmp_path)  # a whole job beside the shards
    with pytest.raises(GanFactoryError, match="already writes to"):
        commands.submit_shards(home, "stylegan", ["m", "out"], shards=2, cwd=tmp_path)  # another split
    with pytest.raises(GanFactoryError, match="either --shards N to submit or --shard K/N"):
        commands.submit_shards(home, "stylegan", ["m", "o2", "--shard", "1/2"], shards=2, cwd=tmp_path)
    claimed = queue.claim_next("w")
    queue.finish(claimed.id, lease=claimed.lease, status=JobStatus.FAILED, error="x", exit_code=1)
    assert queue.retry(claimed.id).status is JobStatus.QUEUED  # its sibling shards do not block its retry
