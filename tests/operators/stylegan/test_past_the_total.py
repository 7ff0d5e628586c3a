"""Issue 21, section 3, fault 16: a finished run started again with a smaller --total-kimg (the 10-kimg command
after 30 kimg) ended in "internal error: TypeError: unsupported format string passed to NoneType.__format__"
from the progress bar, before generating. It now says in one line that the run is past that target, takes no
step and generates. tests/operators/cyclegan and tests/operators/stackgan hold the same test for epochs."""

from __future__ import annotations

from .conftest import TINY_FLAGS, image_files, latest_ckpt, one_thread


def test_a_finished_run_with_a_smaller_total_says_so_and_generates(two_classes, tmp_path, in_process):
    """0.6 kimg done, then the 0.04-kimg command: past the total by more than half a unit, where the bar broke."""
    run = tmp_path / "run"
    flags = [*TINY_FLAGS, "--batch-size", "16", "--tick-kimg", "0.3", "--keep-checkpoints", "10", "--precision",
             "fp32"]
    with one_thread():
        first = in_process("stylegan", two_classes, run, *flags, "--total-kimg", "0.6", "--generate-num", "1")
    assert first.returncode == 0, first.stderr
    latest = latest_ckpt(run)
    with one_thread():
        result = in_process("stylegan", two_classes, run, *flags, "--total-kimg", "0.04", "--generate-num", "2")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "past" in line]
    assert len(said) == 1 and "0.6" in said[0] and "0.04" in said[0], result.stderr
    assert latest_ckpt(run) == latest  # not one step more
    assert {d.name: len(image_files(d)) for d in (run / "Data").iterdir()} == {"cats": 2, "dogs": 2}
