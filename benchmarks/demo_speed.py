"""CPU cost of the demo's training step, in CPU seconds per kimg (one thread), for the demo configuration and
cheaper candidates. CPU time, unlike wall time, is little changed when other processes share the cores, so
the figure carries over to an idle machine: kimg in the budget ~= budget * threads_speedup / cpu_s_per_kimg.

    PYTHONPATH=src .venv/bin/python benchmarks/demo_speed.py [--steps 6]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from ganfactory.data.dataset import load_image_folder
from ganfactory.demo import write_lfw_subset
from ganfactory.engine.precision import FP32
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import preset_for
from ganfactory.operators.stylegan.training import StyleGANTrainable

CANDIDATES = {"demo 32px cmax128": dict(resolution=32, cmax=128), "32px cmax64": dict(resolution=32, cmax=64),
              "16px cmax128": dict(resolution=16, cmax=128)}


def cpu_seconds_per_kimg(data: Path, *, resolution: int, cmax: int, steps: int) -> float:
    config = StyleGANConfig(resolution=resolution, cfg="small", cmax=cmax, batch_size=16, mirror=True,
                            device="cpu", precision="fp32")
    images = load_image_folder(data, resolution=resolution, channels=1)
    trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config),
                                  data=images, device=torch.device("cpu"), precision=FP32)
    for _ in range(2):  # warm-up (first calls allocate)
        trainable.train_step()
    start, seen = time.process_time(), trainable.done
    for _ in range(steps):
        trainable.train_step()
    return (time.process_time() - start) / (trainable.done - seen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        data = write_lfw_subset(Path(folder) / "lfw")
        for name, settings in CANDIDATES.items():
            cost = cpu_seconds_per_kimg(data, steps=args.steps, **settings)
            print(f"{name:20s} {cost:7.1f} CPU s/kimg (fp32, 1 thread, batch 16)")


if __name__ == "__main__":
    main()
