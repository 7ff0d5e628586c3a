"""Issue 21, section 3, fault 7: `project RUN OUT/reconstructions OUT` overwrote the images it was reading (they
sat inside OUT). Like every command, project now refuses an OUT that equals, contains or lies inside one of its
inputs (the images, the run's checkpoint, the data the run was trained on), before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfactory.cli import main
from run_outputs import tree_digest


def _photos(folder: Path, count: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"photo{i}.png")
    return folder


def _project(capsys, run: Path, images: Path, out: Path) -> tuple[int, str]:
    code = main(["-q", "project", str(run), str(images), str(out), "--steps", "2", "--device", "cpu",
                 "--perceptual", "none"])
    return code, capsys.readouterr().err.strip()


def _assert_one_sentence(code: int, err: str) -> str:
    assert code == 2 and err.startswith("error:") and len(err.splitlines()) == 1, err
    assert "internal" not in err and "Traceback" not in err
    return err


def test_reprojecting_the_reconstructions_into_the_same_out_is_refused(stylegan_run, tmp_path, capsys):
    """The reported case: the second projection read OUT/reconstructions and wrote OUT/reconstructions."""
    out = tmp_path / "proj"
    assert _project(capsys, stylegan_run, _photos(tmp_path / "photos"), out)[0] == 0
    before = tree_digest(out)
    err = _assert_one_sentence(*_project(capsys, stylegan_run, out / "reconstructions", out))
    assert "reconstructions lies inside the output folder" in err and "apart from every input" in err
    assert tree_digest(out) == before


@pytest.mark.parametrize("case", ["images_are_out", "out_is_the_run", "out_holds_the_training_data",
                                  "images_behind_a_symlink"])
def test_project_refuses_every_overlap_before_writing(stylegan_run, tmp_path, capsys, case):
    images = _photos(tmp_path / "photos")
    out = {"images_are_out": images, "out_is_the_run": stylegan_run,
           "out_holds_the_training_data": stylegan_run.parent, "images_behind_a_symlink": tmp_path / "out"}[case]
    if case == "images_behind_a_symlink":
        out.mkdir()
        os.symlink(images, out / "targets")  # OUT/targets is where project writes; it is the images folder
    watched = stylegan_run.parent if case.startswith("out_") else tmp_path
    before = tree_digest(watched)
    _assert_one_sentence(*_project(capsys, stylegan_run, images, out))
    assert tree_digest(watched) == before
