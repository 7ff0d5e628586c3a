"""Issue 21, section 3, fault 14: `evaluate --out` and `curate export` into an OUT that cannot be written (a path
under a regular file, a read-only or a full file system) ended in "internal error", `evaluate` only after
computing every feature. Both now ask first (output.writable) and stop with one sentence naming the folder,
before the long part; nothing is left behind.

Read-only and full are real tmpfs mounts (the `unwritable_fs` fixture in tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ganfactory.curation.decisions import Decision, DecisionStore
from run_outputs import manifest_lines, tree_digest

SITUATIONS = ["under_a_file", "read_only", "full"]


def _one_sentence(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return errors[0]


def _out(situation: str, tmp_path: Path, unwritable_fs) -> Path:
    if situation == "under_a_file":
        blocker = tmp_path / "blocker"
        blocker.write_text("a file, not a folder\n")
        return blocker / "out"
    return unwritable_fs(situation) / "out"


@pytest.mark.parametrize("situation", SITUATIONS)
def test_evaluate_into_an_unwritable_out_stops_before_any_feature(trained, two_classes, pooled_features, tmp_path,
                                                                  monkeypatch, in_process, situation, unwritable_fs):
    home = tmp_path / "home"
    monkeypatch.setenv("GANFACTORY_HOME", str(home))
    out = _out(situation, tmp_path, unwritable_fs)
    before = tree_digest(trained)
    err = _one_sentence(in_process("evaluate", trained, "--real", two_classes, "--features", pooled_features,
                                   "--bootstrap", "10", "--out", out))
    assert str(out.parent) in err
    assert not (home / "cache" / "features").exists()  # refused before the features, not after them
    assert tree_digest(trained) == before


@pytest.mark.parametrize("situation", SITUATIONS)
def test_curate_export_into_an_unwritable_out_is_one_sentence(trained, tmp_path, in_process, situation,
                                                              unwritable_fs):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    DecisionStore().decide(run, {line["id"]: Decision.ACCEPT for line in manifest_lines(run)[:3]})
    out = _out(situation, tmp_path, unwritable_fs)
    before = tree_digest(run)
    err = _one_sentence(in_process("curate", "export", run, out))
    assert str(out.parent) in err
    assert tree_digest(run) == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")] if out.parent.is_dir() else True


@pytest.mark.parametrize("command", ["interpolate", "export", "validate --json", "validate --outliers", "prepare",
                                     "generate"])
def test_every_writing_command_refuses_an_out_under_a_file_in_one_sentence(command, trained, two_classes,
                                                                           pooled_features, tmp_path, monkeypatch,
                                                                           in_process):
    """The same kind in the other commands that write: a file where OUT's parent folder should be was an
    "internal error: NotADirectoryError" (after validating every file, or computing every feature)."""
    monkeypatch.setenv("GANFACTORY_HOME", str(tmp_path / "home"))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    args = {"interpolate": ["interpolate", trained, "--seeds", "1,2", "--frames", "2", "--output", blocker / "m.gif"],
            "export": ["export", trained, "--output", blocker / "g.onnx"],
            "validate --json": ["validate", two_classes, "--resolution", "16", "--min-images", "10", "--json",
                                blocker / "v.json"],
            "validate --outliers": ["validate", two_classes, "--resolution", "16", "--min-images", "10",
                                    "--outliers", "--features", pooled_features, "--outliers-out", blocker / "o"],
            "prepare": ["prepare", two_classes, blocker / "out", "--resolution", "16"],
            "generate": ["generate", trained, blocker / "out", "--generate-num", "1", "--device", "cpu"]}[command]
    before = tree_digest(trained)
    err = _one_sentence(in_process(*args))
    assert str(blocker) in err
    assert tree_digest(trained) == before
    assert not (tmp_path / "home" / "cache" / "features").exists()  # no feature was computed first


def test_a_disk_that_fills_part_way_is_one_sentence(trained, tmp_path, in_process, unwritable_fs):
    """Two free pages pass the check before the long part; the export's copies then fill the disk. What no
    earlier check can foresee still ends in one sentence (cli.main), and the run folder is unchanged."""
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    DecisionStore().decide(run, {line["id"]: Decision.ACCEPT for line in manifest_lines(run)[:6]})
    out = unwritable_fs("full", leave=2 * 4096) / "out"
    before = tree_digest(run)
    err = _one_sentence(in_process("curate", "export", run, out))
    assert "free some space" in err and "fs0" in err  # the file being written, not the one copied
    assert tree_digest(run) == before
    assert not out.exists()
