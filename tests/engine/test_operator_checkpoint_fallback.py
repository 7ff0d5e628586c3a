"""Through the operator: a damaged latest checkpoint in OUT/model falls back to the previous good one with a
warning, and the run continues from there to the (raised) total."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.engine.checkpoint import list_checkpoints
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import run_stylegan

# 0.1 kimg = 25 steps of 4 images; checkpoints at steps 10, 20 and 25.
TINY = dict(resolution=16, cfg="small", cbase=256, cmax=32, batch_size=4, tick_kimg=0.04, generate_num=2,
            min_images=6, device="cpu", precision="fp32")


def _data(root: Path) -> Path:
    root.mkdir(parents=True)
    for index in range(6):
        pixels = np.random.default_rng(index).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{index}.png")
    return root


def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    data, out = _data(tmp_path / "data"), tmp_path / "run"
    run_stylegan(data, out, StyleGANConfig(**TINY, total_kimg=0.1), progress_bar=False)
    latest = out / "model" / (out / "model" / "latest").read_text().strip()
    assert latest.name == "ckpt-000000025.pt"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])  # torn, as by a full disk

    flags = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "ganfactory", "stylegan", str(data), str(out), *flags,
                             "--total-kimg", "0.12"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ckpt-000000025.pt is damaged" in result.stderr
    assert "Resuming from ckpt-000000020.pt because the latest checkpoint was missing or damaged" in result.stderr
    assert "Resumed from ckpt-000000020.pt at 0.080 of 0.12 kimg" in result.stderr
    newest = list_checkpoints(out / "model")[0]
    assert newest.name == "ckpt-000000030.pt" == (out / "model" / "latest").read_text().strip()
    state = torch.load(newest, map_location="cpu", weights_only=True)["operator"]
    assert (state["images_seen"], state["steps"]) == (120, 30)
