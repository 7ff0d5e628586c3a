"""`export`, `generate` and `interpolate` read which operator made a model: a model of another operator, an
unknown file or a damaged one is one sentence, never a raw ValidationError/KeyError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganfactory.engine.checkpoint import save_checkpoint
from ganfactory.errors import CheckpointError
from ganfactory.export.cli import export_run


def _run_with_checkpoint(root: Path, state: dict) -> Path:
    save_checkpoint(state, root / "model", step=1)
    return root


def _cli(*args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ganfactory", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_generate_and_interpolate_on_a_cyclegan_run_say_so_in_one_sentence(tmp_path: Path) -> None:
    """`interpolate` is StyleGAN's command; `generate` dispatches to CycleGAN's sampler, which needs --source."""
    run = _run_with_checkpoint(tmp_path / "cycle", {"operator": {"operator": "cyclegan", "config": {}},
                                                   "meta": {"format": 2, "operator": "cyclegan"}})
    expected = {"interpolate": "'ganfactory interpolate' needs a stylegan run folder",
                "generate": "'ganfactory generate' needs --source PATH for it"}
    for args in (("generate", run, tmp_path / "out"), ("interpolate", run, "--seeds", "1,2")):
        result = _cli(*args)
        assert result.returncode == 2, result.stderr
        line = result.stderr.strip()
        assert line.startswith("error: ") and "is a cyclegan model" in line and len(line.splitlines()) == 1
        assert expected[str(args[0])] in line and "internal error" not in line
    assert not (tmp_path / "out").exists()


def test_export_of_a_foreign_or_old_file_is_one_sentence(tmp_path: Path) -> None:
    foreign = _run_with_checkpoint(tmp_path / "foreign", {"operator": {"weights": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match="holds no ganfactory generator"):
        export_run(foreign)
    # DatasetGAN trains pixel classifiers: it has nothing to export.
    unknown = _run_with_checkpoint(tmp_path / "unknown", {"operator": {"operator": "datasetgan"},
                                                          "meta": {"format": 2, "operator": "datasetgan"}})
    with pytest.raises(CheckpointError, match="cannot be exported"):
        export_run(unknown)
    result = _cli("export", foreign)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
