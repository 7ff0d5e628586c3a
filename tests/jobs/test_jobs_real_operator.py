"""The job queue with the real StyleGAN operator: a worker and its job are killed with SIGKILL after the first
checkpoint; a new worker reclaims the job, which resumes from that checkpoint and ends done at exactly the
requested total, with one set of generated images and manifest lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.checkpoint import list_checkpoints
from ganfactory.jobs.commands import submit
from ganfactory.jobs.model import JobStatus

pytestmark = pytest.mark.subprocess  # child processes: run after the fast files (tests/conftest.py)

# 0.2 kimg = 50 steps of 4 images, a checkpoint every 10: the kill after the first one lands mid-run.
FLAGS = ["--resolution", "16", "--cfg", "small", "--cbase", "256", "--cmax", "32", "--batch-size", "4",
         "--total-kimg", "0.2", "--tick-kimg", "0.04", "--generate-num", "3", "--min-images", "6", "--device", "cpu"]
CLASSES = ("cats", "dogs")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for offset, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for index in range(6):
            pixels = np.random.default_rng(offset * 100 + index).integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


def _start_worker(home: Path, log: Path, *options: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("GANFACTORY_DEBUG", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ganfactory", "jobs", "worker", "--home", str(home), "--poll", "0.1",
             "--heartbeat", "0.2", *options], stdout=out, stderr=subprocess.STDOUT, env=env)


def _last_state(out: Path) -> dict:
    return torch.load(list_checkpoints(out / "model")[0], map_location="cpu", weights_only=True)["operator"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL on process groups, /proc")
def test_a_stylegan_job_killed_mid_run_is_resumed_by_another_worker(home, queue, data, tmp_path, kit):
    out = tmp_path / "run"
    job_id = submit(home, "stylegan", [str(data), str(out), *FLAGS], cwd=tmp_path)
    first = _start_worker(home, tmp_path / "worker0.log", "--stale-after", "60")
    try:
        kit.wait_for(lambda: list_checkpoints(out / "model"), timeout=90, what="the first checkpoint")
        child = kit.wait_for(lambda: queue.get(job_id).pid, what="the job's pid")
        os.kill(first.pid, signal.SIGKILL)  # the machine "loses power": worker and job die at once
        os.killpg(child, signal.SIGKILL)
        first.wait()
        kit.wait_for(lambda: not kit.process_alive(child), what="the job to die")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    killed_at = _last_state(out)["images_seen"]
    assert killed_at < 200 and not (out / "output_0.manifest").exists(), "the kill came after training ended"
    assert queue.get(job_id).status is JobStatus.RUNNING  # nobody has told the queue yet

    second = _start_worker(home, tmp_path / "worker1.log", "--stale-after", "1", "--exit-when-idle")
    try:
        assert second.wait(timeout=120) == 0, (tmp_path / "worker1.log").read_text()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    job = queue.get(job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2), job.log_path.read_text()[-3000:]
    assert "Resumed from ckpt-" in job.log_path.read_text().split("attempt 2/")[1]
    state = _last_state(out)
    assert (state["images_seen"], state["steps"]) == (200, 50)
    progress = json.loads((out / "logs" / "progress.json").read_text())
    assert progress["done"] == progress["total"] == 0.2
    lines = [json.loads(line) for line in (out / "output_0.manifest").read_text().splitlines() if line.strip()]
    assert len(lines) == len({line["id"] for line in lines}) == len({line["source"] for line in lines}) == 6
    for name in CLASSES:
        assert len(list((out / "Data" / name).iterdir())) == 3
