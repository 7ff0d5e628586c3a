"""Issue 21, section 3: stackgan-prepare refuses what would fail or change an input, in one sentence and before
the slow caption encoding: an OUT around its DATA (fault 7), a bounding box outside its image and an OUT that
cannot be written (fault 14); training refuses such a box in a prepared folder before its first step."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ganfactory.errors import InputError
from ganfactory.operators.stackgan.operator import run_stackgan
from run_outputs import tree_digest

from .conftest import build_captioned_folder, tiny_config
from .test_prepare import IMAGES


def _prepare(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganfactory", "-q", "stackgan-prepare", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _one_sentence(done: subprocess.CompletedProcess) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1 and done.stderr.rstrip().endswith(errors[0]), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return errors[0]


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


def _in_process_one_sentence(in_process, *args: object) -> str:
    done = in_process("-q", "stackgan-prepare", *args)
    return _one_sentence(done)


@pytest.mark.parametrize("box", ["100 100 10 10", "2 2 30 30", "-8 0 4 4", "0 0 0 5"])
def test_a_box_outside_its_image_is_refused_before_anything_is_written(tmp_path: Path, in_process, box) -> None:
    """Issue 21, fault 14: such a box was accepted and training later died with a ValueError (an empty crop).
    `2 2 30 30` is the common slip of corners (x1 y1 x2 y2) for x y w h: it leaves the 24x20 image too."""
    data = build_captioned_folder(tmp_path)
    boxes = tmp_path / "boxes.txt"
    lines = [f"{rel} 1 2 10 8" for rel in IMAGES]
    lines[0] = f"birds/a.png {box}"
    boxes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _in_process_one_sentence(in_process, data, tmp_path / "out", "--bounding-boxes", boxes)
    assert "birds/a.png" in message and str(boxes) in message and "24x20" in message and "x y width height" in message
    assert not (tmp_path / "out").exists()


def test_training_refuses_a_prepared_box_outside_its_image_before_training(prepared: Path, tmp_path: Path) -> None:
    """A prepared folder whose bounding_boxes.txt was edited (or came from elsewhere): one sentence, no step."""
    copy = tmp_path / "prepared"
    shutil.copytree(prepared, copy)
    rows = (copy / "bounding_boxes.txt").read_text(encoding="utf-8").splitlines()
    rows[1] = "2 500 500 10 10"
    (copy / "bounding_boxes.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bounding_boxes.txt.* line 2 .*outside"):
        run_stackgan(copy, tmp_path / "run", tiny_config(stage1_epochs=1, stage2_epochs=1), progress_bar=False)
    assert not list((tmp_path / "run").rglob("*.pt"))


@pytest.mark.parametrize("situation", ["under_a_file", "read_only", "full"])
def test_prepare_into_an_unwritable_out_stops_before_encoding(tmp_path: Path, in_process, situation,
                                                              unwritable_fs) -> None:
    """Issue 21, fault 14: an OUT that cannot be written crashed after every caption was encoded (a full one
    gave a sentence, but only then)."""
    data = build_captioned_folder(tmp_path)
    if situation == "under_a_file":
        (tmp_path / "blocker").write_text("a file, not a folder\n")
        out = tmp_path / "blocker" / "out"
    else:
        out = unwritable_fs(situation) / "out"
    before = tree_digest(data)
    message = _in_process_one_sentence(in_process, data, out)
    assert str(out.parent) in message and "output folder" in message
    assert tree_digest(data) == before
