"""The small pure parts: exit-code mapping, log reading, progress display, command lines, run folders."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click
import pytest

from ganfactory.errors import GanFactoryError
from ganfactory.jobs.launch import operator_command_line
from ganfactory.jobs.logtail import (
    ATTEMPT_MARKER,
    current_attempt,
    last_meaningful_line,
    read_tail,
    torchrun_root_exit_code,
)
from ganfactory.jobs.model import Job, JobStatus
from ganfactory.jobs.outcome import StopReason, decide_outcome
from ganfactory.jobs.progress import duration_text, eta_seconds, progress_text, read_progress
from ganfactory.jobs.runfolder import run_folder_from_command

TORCHRUN_REPORT = """\
error: the data folder /d is empty; put images in it.
Traceback (most recent call last):
  File "/venv/bin/torchrun", line 8, in <module>
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
ganfactory FAILED
------------------------------------------------------------
Failures:
  <NO_OTHER_FAILURES>
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2025-01-01_00:00:00
  host      : node1
  rank      : 0 (local_rank: 0)
  exitcode  : 2 (pid: 123)
  error_file: <N/A>
  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
============================================================"""


def _job(**changes: object) -> Job:
    base = Job(
        id=1, operator="stylegan", args=("d", "o"), run_folder=Path("/o"), cwd=Path("/"), priority=0,
        status=JobStatus.RUNNING, attempts=1, max_attempts=3, nproc=1, max_restarts=0, worker_id="w",
        lease="l", pid=None, heartbeat_at=0.0, created_at=0.0, started_at=0.0, finished_at=None,
        cancel_requested=False, exit_code=None, error=None, log_path=Path("/log"),
    )
    return replace(base, **changes)


def _decide(code: int, *, reason: StopReason = StopReason.NONE, lines: list[str] | None = None, **job: object):
    return decide_outcome(job=_job(**job), returncode=code, reason=reason, log_lines=lines or [])


def test_exit_codes_map_to_states() -> None:
    assert _decide(0).status is JobStatus.DONE
    user_error = _decide(2, lines=["INFO loading", "error: DATA is empty; add images."])
    assert (user_error.status, user_error.error) == (JobStatus.FAILED, "DATA is empty; add images.")
    crash = _decide(1, lines=["Traceback (most recent call last):", '  File "x"', "RuntimeError: boom"])
    assert (crash.status, crash.error, crash.count_attempt) == (JobStatus.QUEUED, "RuntimeError: boom", True)
    last = _decide(1, attempts=3, lines=["RuntimeError: boom"])
    assert last.status is JobStatus.FAILED and last.error == "RuntimeError: boom (gave up after 3 attempts)"
    assert _decide(75).status is JobStatus.QUEUED  # stopped from outside: resumable, but counted
    killed = _decide(-9)
    assert killed.status is JobStatus.QUEUED and "SIGKILL" in killed.error


def test_why_the_worker_stopped_the_job_overrides_the_exit_code() -> None:
    stopping = _decide(75, reason=StopReason.WORKER_STOPPING)
    assert (stopping.status, stopping.count_attempt) == (JobStatus.QUEUED, False)
    assert _decide(-15, reason=StopReason.WORKER_STOPPING, attempts=3).status is JobStatus.QUEUED
    assert _decide(1, reason=StopReason.CANCELLED).status is JobStatus.CANCELLED
    assert _decide(0, reason=StopReason.CANCELLED).status is JobStatus.DONE  # it finished first
    assert _decide(-9, reason=StopReason.LEASE_LOST) is None


def test_torchrun_failures_use_the_root_cause_exit_code() -> None:
    lines = TORCHRUN_REPORT.splitlines()
    assert torchrun_root_exit_code(lines) == 2
    outcome = _decide(1, nproc=4, lines=lines)
    assert (outcome.status, outcome.error) == (JobStatus.FAILED, "the data folder /d is empty; put images in it.")
    assert _decide(1, nproc=1, lines=lines).status is JobStatus.QUEUED  # not torchrun: exit 1 is a crash


def test_log_tail_reads_only_the_current_attempt(tmp_path: Path) -> None:
    log = tmp_path / "1.log"
    log.write_text(f"{ATTEMPT_MARKER} attempt 1\nValueError: old\n{ATTEMPT_MARKER} attempt 2\nstep 1\n")
    assert current_attempt(read_tail(log)) == ["step 1"]
    assert read_tail(tmp_path / "missing.log") == []
    assert last_meaningful_line(["=====", "   ", ""]) is None
    big = tmp_path / "big.log"
    big.write_text("x" * 100 + "\n" + "last line\n")
    assert read_tail(big, max_bytes=20) == ["last line"]  # the cut first line is dropped


def test_progress_columns(tmp_path: Path) -> None:
    assert read_progress(tmp_path) is None
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "progress.json").write_text(json.dumps(
        {"unit": "kimg", "done": 12.34, "total": 300, "sec_per_unit": 10.0, "phase": "training", "updated": 100.0}))
    progress = read_progress(tmp_path)
    assert progress_text(progress) == "12.3/300 kimg"
    assert eta_seconds(progress, now=130.0) == pytest.approx((300 - 12.34) * 10 - 30)
    assert duration_text(2877.0) == "47m57s" and duration_text(3725) == "1h02m" and duration_text(None) == "-"
    assert progress_text(replace(progress, phase="generating")) == "12.3/300 kimg (generating)"
    assert eta_seconds(replace(progress, sec_per_unit=None), now=0) is None
    (tmp_path / "logs" / "progress.json").write_text("{half")
    assert read_progress(tmp_path) is None


def test_command_lines_for_one_and_many_processes() -> None:
    single = operator_command_line(_job(args=("D", "O", "--total-kimg", "3")))
    assert single == [sys.executable, "-m", "ganfactory", "stylegan", "D", "O", "--total-kimg", "3"]
    multi = operator_command_line(_job(nproc=4, max_restarts=2))
    assert multi[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert multi[multi.index("--nproc_per_node") + 1] == "4" and multi[multi.index("--max_restarts") + 1] == "2"
    assert multi[-5:] == ["-m", "ganfactory", "stylegan", "d", "o"]


def _fake_operator_command() -> click.Command:
    @click.command("stylegan")
    @click.argument("data", type=click.Path(path_type=Path))
    @click.argument("out", type=click.Path(path_type=Path))
    @click.option("--total-kimg", type=int, default=300)
    def stylegan(data: Path, out: Path, total_kimg: int) -> None:
        """Stand-in with the same parameter names as the real operator."""

    return stylegan


def test_run_folder_is_read_from_the_out_parameter(tmp_path: Path) -> None:
    command = _fake_operator_command()
    folder = run_folder_from_command(command, operator="stylegan", args=["data", "runs/a", "--total-kimg", "5"],
                                     cwd=tmp_path)
    assert folder == (tmp_path / "runs" / "a").resolve()
    absolute = run_folder_from_command(command, operator="stylegan", args=["data", "/abs/out"], cwd=tmp_path)
    assert absolute == Path("/abs/out")
    with pytest.raises(GanFactoryError, match="has no output folder"):
        run_folder_from_command(command, operator="stylegan", args=["data"], cwd=tmp_path)


def test_run_folder_through_the_real_cli(tmp_path: Path) -> None:
    cli = pytest.importorskip("ganfactory.cli", reason="the CLI module is not available yet")
    if not hasattr(cli, "get_operator_command"):
        pytest.skip("ganfactory.cli has no get_operator_command yet")
    from ganfactory.jobs.runfolder import resolve_run_folder

    folder = resolve_run_folder("stylegan", ["data", "runs/x", "--total-kimg", "1"], cwd=tmp_path)
    assert folder == (tmp_path / "runs" / "x").resolve()
    with pytest.raises(GanFactoryError):
        resolve_run_folder("no-such-operator", ["a"], cwd=tmp_path)


def test_an_error_that_repeats_with_the_same_message_is_not_retried() -> None:
    """Issue 13, fault 10: the second identical internal error ends the job instead of burning every attempt."""
    lines = ["error: internal error: UnicodeEncodeError: surrogates not allowed (run with --debug for the traceback)."]
    first = _decide(1, lines=lines, attempts=1)
    assert first.status is JobStatus.QUEUED
    second = _decide(1, lines=lines, attempts=2, error=first.error)
    assert second.status is JobStatus.FAILED and "failed the same way twice" in second.error
    assert "jobs retry 1" in second.error
    other = _decide(1, lines=["RuntimeError: another"], attempts=2, error=first.error)
    assert other.status is JobStatus.QUEUED  # a different failure may still pass
    killed = _decide(-9, attempts=2, error=_decide(-9).error)
    assert killed.status is JobStatus.QUEUED  # a kill (memory, a lost node) can pass: retried as before


def test_gpu_names_come_from_nvidia_smi_and_respect_cuda_visible_devices(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from ganfactory.jobs.machine import gpu_names

    monkeypatch.setenv("PATH", str(tmp_path))
    assert gpu_names(visible="0") is None  # no nvidia-smi: no GPU
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '0, GPU-aaa111, NVIDIA H100 80GB HBM3'\necho '1, GPU-bbb222, NVIDIA A10'\n")
    smi.chmod(0o755)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_names() == "NVIDIA H100 80GB HBM3, NVIDIA A10"
    assert gpu_names(visible="1") == "NVIDIA A10"
    assert gpu_names(visible="GPU-aaa") == "NVIDIA H100 80GB HBM3"
    assert gpu_names(visible="") is None
