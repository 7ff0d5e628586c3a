"""Issue 21, section 3, fault 16 for StackGAN: a finished run (2 + 2 epochs) started again with 1 + 1 epochs
ended in "internal error: TypeError" from the progress bar. Each stage now says so in one line, and the run
generates."""

from __future__ import annotations

from pathlib import Path

from run_outputs import image_files, manifest_lines

FLAGS = ["--stage1-resolution", "16", "--resolution", "32", "--gf", "4", "--df", "4", "--z-dim", "8",
         "--condition-dim", "8", "--res-blocks", "1", "--batch-size", "2", "--generate-num", "1", "--device", "cpu",
         "--precision", "fp32", "--keep-checkpoints", "10"]


def test_a_finished_run_with_fewer_epochs_says_so_and_generates(prepared: Path, tmp_path, in_process):
    run = tmp_path / "run"
    first = in_process("stackgan", prepared, run, *FLAGS, "--stage1-epochs", "2", "--stage2-epochs", "2")
    assert first.returncode == 0, first.stderr
    checkpoints = sorted(p.name for p in (run / "model").rglob("*.pt"))
    result = in_process("stackgan", prepared, run, *FLAGS, "--stage1-epochs", "1", "--stage2-epochs", "1",
                        "--generate-num", "2")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "past" in line]
    assert len(said) == 2 and "stage stage1" in said[0] and "stage stage2" in said[1], result.stderr
    assert sorted(p.name for p in (run / "model").rglob("*.pt")) == checkpoints
    lines = manifest_lines(run)
    assert len(image_files(run / "Data")) == len(lines) > 0 and {line["seed"] for line in lines} == {0, 1}
