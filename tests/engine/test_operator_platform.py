"""The operator contract end to end: a toy operator added as one folder (tests/engine/toy_operator) plus one
registration (an entry point) trains through the CLI, resumes after SIGTERM, runs as a queued job, exports and
is listed in --help; its two-stage form resumes in stage 2 after a kill with both stages' checkpoints kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.checkpoint import list_checkpoints

pytestmark = pytest.mark.subprocess  # child processes: run after the fast files (tests/conftest.py)

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose Python finds the toy package and its one registration line."""
    site = tmp_path_factory.mktemp("site")
    info = site / "toy_operator-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-operator\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganfactory.operators]\ntoy = toy_operator.spec:TOY\n")
    path = os.pathsep.join([str(site), str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("colours")
    for index in range(4):
        Image.fromarray(np.full((8, 8, 3), (200, 40 + index, 90), dtype=np.uint8)).save(root / f"{index}.png")
    return root


def _ganfactory(env: dict[str, str], *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganfactory", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _start(env: dict[str, str], *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganfactory", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_help_lists_the_toy_operator_and_its_options(plugin_env: dict[str, str]) -> None:
    listing = _ganfactory(plugin_env, "--help")
    assert listing.returncode == 0 and "toy" in listing.stdout and "Learn the mean colour" in listing.stdout
    options = _ganfactory(plugin_env, "toy", "--help").stdout
    assert "--two-stage / --no-two-stage" in options and "--keep-checkpoints" in options and "--precision" in options


def test_train_stop_resume_export_and_predict(plugin_env: dict[str, str], data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = _start(plugin_env, "toy", data, out, "--steps", 60, "--step-sleep", 0.05, "--device", "cpu")
    _wait_for(lambda: list_checkpoints(out / "model"))
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 75, stderr
    stopped = torch.load(list_checkpoints(out / "model")[0], weights_only=True)
    assert 10 <= stopped["operator"]["steps"] < 60 and stopped["meta"]["operator"] == "toy"

    resumed = _ganfactory(plugin_env, "toy", data, out, "--steps", 60, "--device", "cpu")
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resumed from ckpt-{stopped['operator']['steps']:09d}.pt" in resumed.stderr
    assert "tick 6: step 60.00/60 loss=" in resumed.stderr  # the per-tick console line
    assert json.loads((out / "logs" / "progress.json").read_text())["phase"] == "done"
    colour = np.asarray(Image.open(out / "Data" / "mean.png"))[0, 0]
    assert abs(int(colour[0]) - 200) < 40  # it learnt something of the data's red

    exported = _ganfactory(plugin_env, "export", out)
    assert exported.returncode == 0 and exported.stdout.strip() == f"Wrote {out / 'model' / 'generator.onnx'}"
    assert len((exported.stdout + exported.stderr).strip().splitlines()) <= 3, exported.stderr
    predicted = _ganfactory(plugin_env, "toy", data, tmp_path / "predicted", "--predict", "--resume", out)
    assert predicted.returncode == 0 and (tmp_path / "predicted" / "Data" / "mean.png").is_file(), predicted.stderr


def test_a_queued_toy_job_runs_from_its_typed_request(plugin_env: dict[str, str], data: Path, tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "job-run"
    submitted = _ganfactory(plugin_env, "jobs", "submit", "--home", home, "toy", data, out, "--steps", 20)
    assert submitted.returncode == 0 and submitted.stdout.strip() == "queued job 1", submitted.stderr
    refused = _ganfactory(plugin_env, "jobs", "submit", "--home", home, "toy", data, tmp_path / "x", "--steps", 0)
    assert refused.returncode != 0 and "steps" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    worker = _ganfactory(plugin_env, "jobs", "worker", "--home", home, "--exit-when-idle", "--poll", 0.2)
    assert worker.returncode == 0, worker.stderr
    listing = _ganfactory(plugin_env, "jobs", "list", "--home", home).stdout.splitlines()[1].split()
    assert listing[:3] == ["1", "toy", "done"] and "20/20" in listing and "(done)" in listing
    assert (out / "Data" / "mean.png").is_file() and list_checkpoints(out / "model")


def test_two_stages_resume_in_stage_two_after_a_kill(plugin_env: dict[str, str], data: Path, tmp_path: Path) -> None:
    out = tmp_path / "staged"
    args = ("toy", data, out, "--two-stage", "--steps", 40, "--keep-checkpoints", 1, "--device", "cpu")
    process = _start(plugin_env, *args, "--step-sleep", 0.05)
    _wait_for(lambda: list_checkpoints(out / "model" / "stage2"))
    process.kill()  # no chance to save: the run continues from stage 2's last checkpoint
    process.communicate(timeout=30)
    stage1 = list_checkpoints(out / "model" / "stage1")
    assert [p.name for p in stage1] == ["ckpt-000000040.pt"]  # pruning in stage 2 kept stage 1's
    progress = json.loads((out / "logs" / "progress.json").read_text())
    assert (progress["stage"], progress["phase"]) == ("stage2", "training")
    killed_at = torch.load(list_checkpoints(out / "model" / "stage2")[0], weights_only=True)["operator"]["steps"]

    resumed = _ganfactory(plugin_env, *args)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resumed from ckpt-{killed_at:09d}.pt at {killed_at:.3f} of 40.0 step" in resumed.stderr
    assert "stage2 tick" in resumed.stderr and "stage1 tick" not in resumed.stderr
    assert list_checkpoints(out / "model" / "stage1") == stage1
    assert (out / "model" / "latest").read_text().strip() == "stage2/ckpt-000000040.pt"
    state = torch.load(out / "model" / "stage2" / "ckpt-000000040.pt", weights_only=True)
    assert state["meta"] == {"format": 2, "operator": "toy", "architecture": {"size": 8}, "stage": "stage2"}
