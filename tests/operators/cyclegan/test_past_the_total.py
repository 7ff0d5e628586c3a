"""Issue 21, section 3, fault 16 for CycleGAN: a finished 2-epoch run started again with --max-epoch 1 ended in
"internal error: TypeError" from the progress bar. It now says so in one line and translates."""

from __future__ import annotations

from .conftest import TINY_FLAGS, image_files


def test_a_finished_run_with_fewer_epochs_says_so_and_translates(domains, tmp_path, in_process, single_thread):
    run = tmp_path / "run"
    first = in_process("cyclegan", *domains, run, *TINY_FLAGS, "--precision", "fp32")  # 2 epochs
    assert first.returncode == 0, first.stderr
    checkpoints = sorted(p.name for p in (run / "model").glob("*.pt"))
    result = in_process("cyclegan", *domains, run, *TINY_FLAGS, "--precision", "fp32", "--max-epoch", "1")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "past" in line]
    assert len(said) == 1 and "epoch 2" in said[0] and " 1 asked" in said[0], result.stderr
    assert sorted(p.name for p in (run / "model").glob("*.pt")) == checkpoints
    assert len(image_files(run / "Data")) == 4
