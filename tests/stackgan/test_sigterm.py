"""A real SIGTERM to `python -m ganfactory stackgan` in stage I: exit 75 with the one-line resume hint, and the
same command continues from the stop's checkpoint to the result of an uninterrupted run (checkpoints of both
stages and the generated images). test_operator proves the in-process stop and resume equal step for step;
this test covers the signal handler, the exit code and the message of the real command."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import torch
from tests.run_outputs import tree_digest
from tests.stylegan.conftest import CLI_ENV, assert_one_line_error, cli_args

from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint
from ganfactory.operators.stackgan.operator import run_stackgan

from .conftest import tiny_config

# a checkpoint and a sample grid every epoch (one step: 3 training images, batch 2), so the first stage-I
# checkpoint leaves 9 epochs (over a second) in stage I for the signal to land in
OPTIONS = dict(stage1_epochs=10, stage2_epochs=2, tick_epochs=1, generate_num=1, keep_checkpoints=100,
               precision="fp32")


def _flags() -> list[str]:
    config = tiny_config(**OPTIONS)
    names = ("stage1_resolution", "resolution", "gf", "df", "z_dim", "condition_dim", "res_blocks", "batch_size",
             "stage1_epochs", "stage2_epochs", "tick_epochs", "generate_num", "sample_captions", "device",
             "keep_checkpoints", "precision")
    return [arg for name in names for arg in (f"--{name.replace('_', '-')}", str(getattr(config, name)))]


def _final(run: Path, stage: str) -> dict:
    return load_checkpoint(list_checkpoints(run / "model" / stage)[0])["operator"]


def test_sigterm_in_stage1_then_the_same_command_finishes_as_an_uninterrupted_run(prepared: Path,
                                                                                   tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = cli_args("stackgan", prepared, out, *_flags())
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV)
    deadline = time.monotonic() + 120  # a loaded machine starts torch slowly
    while not list_checkpoints(out / "model" / "stage1"):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    message = assert_one_line_error(subprocess.CompletedProcess(command, process.returncode, stdout, stderr), code=75)
    assert "Training stopped (SIGTERM) after saving a checkpoint" in message
    assert "run the same command to resume" in message
    stopped = _final(out, "stage1")["steps"]
    assert 1 <= stopped < OPTIONS["stage1_epochs"] and not list_checkpoints(out / "model" / "stage2")

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resumed from ckpt-{stopped:09d}.pt" in resumed.stderr  # the step counter continues from the stop

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the subprocesses (OMP_NUM_THREADS=1): the same arithmetic
    try:
        whole = run_stackgan(prepared, tmp_path / "whole", tiny_config(**OPTIONS), progress_bar=False).run.root
    finally:
        torch.set_num_threads(torch_threads)
    for stage, steps in (("stage1", OPTIONS["stage1_epochs"]), ("stage2", OPTIONS["stage2_epochs"])):
        a, b = _final(whole, stage), _final(out, stage)
        assert a["steps"] == b["steps"] == steps
        for net in ("G", "D"):
            assert all(torch.equal(a[net][key], b[net][key]) for key in a[net]), f"{stage} {net}"
    assert tree_digest(whole / "Data") == tree_digest(out / "Data")
