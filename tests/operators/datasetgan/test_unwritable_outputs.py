"""Issue 21, section 3, fault 14: an OUT that cannot be written (a path under a regular file, a read-only or a
full file system) used to end in "internal error" after the long part (`datasetgan evaluate` after training the
first U-Net). `project`, `datasetgan add-real` and `datasetgan evaluate` now ask first (output.writable) and
stop with one sentence naming the folder, before any projection or U-Net, and change nothing.

Read-only and full are real tmpfs mounts (the `unwritable_fs` fixture): chmod would not stop root."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfactory.cli import main
from ganfactory.operators.datasetgan.layout import annotation_folder
from run_outputs import tree_digest

from .conftest import copy_of
from .test_evaluate import FAST, real_test_folder

SITUATIONS = ["under_a_file", "read_only", "full"]


def _photos(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"photo{i}.png")
    return folder


def _one_sentence(capsys, *args: object) -> str:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and err.endswith(errors[0]), err
    assert "internal error" not in err and "Traceback" not in err
    return errors[0]


def _place(situation: str, tmp_path: Path, unwritable_fs, populate=None) -> Path:
    """A folder (made by `populate`, when given) that cannot take a file in the given situation."""
    if situation == "under_a_file":
        blocker = tmp_path / "blocker"
        blocker.write_text("a file, not a folder\n")
        return blocker / "out"
    return unwritable_fs(situation, populate) / "out"


@pytest.mark.parametrize("situation", SITUATIONS)
def test_project_into_an_unwritable_out_stops_before_projecting(stylegan_run, tmp_path, capsys, caplog, situation,
                                                                unwritable_fs):
    images = _photos(tmp_path / "photos")
    out = _place(situation, tmp_path, unwritable_fs)
    with caplog.at_level(logging.INFO):
        err = _one_sentence(capsys, "project", stylegan_run, images, out, "--steps", "2", "--device", "cpu",
                            "--perceptual", "none")
    assert str(out.parent) in err and "output folder" in err
    assert not any("Projected" in r.getMessage() for r in caplog.records)  # refused before the long part


def test_project_with_a_file_where_a_subfolder_goes_is_one_sentence(stylegan_run, tmp_path, capsys):
    out = tmp_path / "proj"
    out.mkdir()
    (out / "reconstructions").write_text("in the way\n")
    err = _one_sentence(capsys, "project", stylegan_run, _photos(tmp_path / "photos"), out, "--steps", "2",
                        "--device", "cpu", "--perceptual", "none")
    assert "reconstructions" in err and "is a file" in err


@pytest.mark.parametrize("situation", SITUATIONS)
def test_datasetgan_evaluate_on_an_unwritable_out_stops_before_the_first_unet(generated, tmp_path, capsys, caplog,
                                                                              situation, unwritable_fs):
    test_dir = real_test_folder(tmp_path / "real", annotation_folder(generated).classes_path)
    if situation == "under_a_file":
        out = copy_of(generated, tmp_path)
        (out / "evaluation").write_text("a file where the evaluation folder goes\n")
    else:
        out = unwritable_fs(situation, lambda root: shutil.copytree(generated, root / "out")) / "out"
    before = tree_digest(out)
    with caplog.at_level(logging.INFO):
        err = _one_sentence(capsys, "datasetgan", "evaluate", out, "--real-test", test_dir, *FAST)
    assert "evaluation" in err or str(out) in err
    assert not any("Training a U-Net" in r.getMessage() for r in caplog.records)
    assert tree_digest(out) == before


@pytest.mark.parametrize("situation", SITUATIONS)
def test_add_real_into_an_unwritable_out_is_one_sentence(stylegan_run, sampled, tmp_path, capsys, situation,
                                                         unwritable_fs):
    projection = tmp_path / "proj"
    assert main(["-q", "project", str(stylegan_run), str(_photos(tmp_path / "photos")), str(projection),
                 "--steps", "2", "--device", "cpu", "--perceptual", "none"]) == 0
    if situation == "under_a_file":
        out = copy_of(sampled, tmp_path)
        (annotation_folder(out).reconstructions_dir).write_text("a file where reconstructions/ goes\n")
    else:
        out = unwritable_fs(situation, lambda root: shutil.copytree(sampled, root / "out")) / "out"
    before = tree_digest(out)
    err = _one_sentence(capsys, "datasetgan", "add-real", out, projection)
    assert str(out) in err
    assert tree_digest(out) == before
