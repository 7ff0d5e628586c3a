"""Issue 21, section 3: stackgan-prepare refuses what would fail or change an input, in one sentence and before
the slow caption encoding: an OUT around its DATA (fault 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from run_outputs import tree_digest

from .conftest import build_captioned_folder


def _prepare(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganfactory", "-q", "stackgan-prepare", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _one_sentence(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "internal error" not in lines[0] and "Traceback" not in done.stderr
    return lines[0]


def test_data_inside_out_is_refused_and_untouched(tmp_path: Path) -> None:
    """`stackgan-prepare OUT/raw OUT`: the input lies inside the folder the command writes."""
    out = tmp_path / "prepared"
    data = build_captioned_folder(out / "raw")
    boxes = tmp_path / "boxes.txt"
    boxes.write_text("birds/a.png 0 0 4 4\n", encoding="utf-8")
    before = tree_digest(out)
    message = _one_sentence(_prepare(data, out))
    assert "lies inside the output folder" in message and "stackgan-prepare" in message
    assert tree_digest(out) == before
    inside = out / "boxes.txt"  # a box file inside OUT is an input too
    inside.write_text(boxes.read_text(), encoding="utf-8")
    elsewhere = build_captioned_folder(tmp_path / "elsewhere")
    assert "boxes.txt lies inside the output folder" in _one_sentence(
        _prepare(elsewhere, out, "--bounding-boxes", inside))
