"""Issue 21, section 3, fault 6: `generate --balance / --per-class-target / --max-similarity` without
--training-data read the training folder a run recorded in its config.json. That record was the path as typed
(`data`), so generation started from another folder balanced against whatever `data/` lay there.

A run now records absolute paths; an older run's relative record is found next to the run folder (never in the
current folder); a recorded folder that is gone is refused with one sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import TINY_FLAGS, assert_one_line_error, image_files, one_thread, write_images


def _uneven(root: Path, cats: int, dogs: int) -> Path:
    write_images(root / "cats", "cats", cats)
    write_images(root / "dogs", "dogs", dogs)
    return root


def _generated(out: Path) -> dict[str, int]:
    return {folder.name: len(image_files(folder)) for folder in sorted((out / "Data").iterdir())}


def test_a_run_records_absolute_inputs_and_generate_balances_against_them_from_anywhere(in_process, tmp_path,
                                                                                       monkeypatch):
    project = tmp_path / "project"
    _uneven(project / "data", cats=12, dogs=10)
    monkeypatch.chdir(project)
    with one_thread():
        trained = in_process("stylegan", "data", "run", *TINY_FLAGS, "--total-kimg", "0.008", "--generate-num", "1",
                             "--precision", "fp32")
    assert trained.returncode == 0, trained.stderr
    assert json.loads((project / "run" / "config.json").read_text())["data"] == str(project / "data")

    elsewhere = tmp_path / "elsewhere"
    _uneven(elsewhere / "data", cats=3, dogs=12)  # another data/ where the command is started
    monkeypatch.chdir(elsewhere)
    with one_thread():
        result = in_process("generate", project / "run", "out", "--balance", "--generate-num", "0", "--device", "cpu",
                            "--precision", "fp32")
    assert result.returncode == 0, result.stderr
    assert _generated(elsewhere / "out") == {"cats": 0, "dogs": 2}  # 12/10 recorded, not 3/12 here


def _old_run(trained: Path, project: Path) -> Path:
    """A copy of a finished run whose config.json records its data folder as typed, relative (as runs did)."""
    run = project / "runs" / "pets"
    shutil.copytree(trained, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "data": "data"}))
    return run


def test_an_old_relative_record_is_found_beside_the_run_not_in_the_current_folder(trained, in_process, tmp_path,
                                                                                  monkeypatch):
    project = tmp_path / "project"
    _uneven(project / "data", cats=12, dogs=10)
    run = _old_run(trained, project)
    elsewhere = tmp_path / "elsewhere"
    _uneven(elsewhere / "data", cats=3, dogs=12)
    monkeypatch.chdir(elsewhere)
    with one_thread():
        result = in_process("generate", run, "out", "--per-class-target", "13", "--device", "cpu", "--precision",
                            "fp32")
    assert result.returncode == 0, result.stderr
    assert _generated(elsewhere / "out") == {"cats": 1, "dogs": 3}


def test_a_recorded_data_folder_that_is_gone_is_refused_in_one_sentence(trained, in_process, tmp_path, monkeypatch):
    project = tmp_path / "project"
    run = _old_run(trained, project)  # project/data does not exist (moved or deleted)
    elsewhere = tmp_path / "elsewhere"
    _uneven(elsewhere / "data", cats=3, dogs=12)  # must not be taken instead
    monkeypatch.chdir(elsewhere)
    result = in_process("generate", run, "out", "--balance", "--device", "cpu")
    message = assert_one_line_error(result)
    assert "data" in message and "--training-data" in message and "no longer" in message
    assert not (elsewhere / "out" / "Data").exists() or not image_files(elsewhere / "out" / "Data")

    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "moved")}))
    message = assert_one_line_error(in_process("generate", run, "out2", "--balance", "--device", "cpu"))
    assert str(tmp_path / "moved") in message and "--training-data" in message


def test_balance_matches_training_class_folders_that_differ_in_case(trained, in_process, tmp_path):
    """Issue 21, fault 17's kind: --training-data 'Cats'/'DOGS' for a generator of 'cats'/'dogs' counted 0 real
    images per class, so --balance added nothing where it should have evened the classes out."""
    data = tmp_path / "data"
    write_images(data / "Cats", "cats", 5)
    write_images(data / "DOGS", "dogs", 2)
    with one_thread():
        result = in_process("generate", trained, tmp_path / "out", "--balance", "--generate-num", "0",
                            "--training-data", data, "--device", "cpu", "--precision", "fp32")
    assert result.returncode == 0, result.stderr
    assert _generated(tmp_path / "out") == {"cats": 0, "dogs": 3}
