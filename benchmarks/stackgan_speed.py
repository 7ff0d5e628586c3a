"""Training speed of each StackGAN stage on this machine: iterations/s (one D + one G update) of stage I at
--stage1-resolution and stage II at --resolution, on random data (the step costs the same).

    python benchmarks/stackgan_speed.py [--stage1-resolution 64] [--resolution 256] [--gf 128] [--df 64]
                                        [--res-blocks 4] [--batch 8] [--steps 3] [--threads 2]

The paper's widths (gf 128, df 64) at 256 px take seconds per step on a 2-core CPU; pass smaller --gf/--df
for a quick look. Wall-clock figures on a shared machine are pessimistic; the load average is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
import torch

from ganfactory.engine.precision import FP32
from ganfactory.operators.stackgan.architecture import StackGANArchitecture
from ganfactory.operators.stackgan.config import StackGANConfig
from ganfactory.operators.stackgan.hparams import StackGANTraining
from ganfactory.operators.stackgan.training import Stage1Trainable, Stage2Trainable, StageData


def _data(count: int, size: int, dim: int) -> StageData:
    load = round(size * 76 / 64)
    return StageData(images=torch.randint(0, 256, (count, 3, load, load), dtype=torch.uint8),
                     embeddings=np.random.default_rng(0).normal(size=(count, 5, dim)).astype(np.float32),
                     counts=[5] * count, sample_captions=["x"], sample_embeddings=torch.zeros(1, dim))


def _rate(trainable, steps: int) -> float:
    trainable.train_step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        trainable.train_step()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage1-resolution", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--gf", type=int, default=128)
    parser.add_argument("--df", type=int, default=64)
    parser.add_argument("--res-blocks", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = StackGANConfig(stage1_resolution=args.stage1_resolution, resolution=args.resolution, gf=args.gf,
                            df=args.df, res_blocks=args.res_blocks, batch_size=args.batch)
    dim, device = 384, torch.device("cpu")
    common = dict(hparams=StackGANTraining.from_config(config), device=device, class_names=[], precision=FP32)
    arch = StackGANArchitecture.from_config(config, stage="stage1", embedding_dim=dim, encoder="")
    stage1 = Stage1Trainable(data=_data(args.batch * 2, args.stage1_resolution, dim), arch=arch, **common)
    rate1 = _rate(stage1, args.steps)
    stage2 = Stage2Trainable(stage1=stage1.G, data=_data(args.batch * 2, args.resolution, dim),
                             arch=dataclasses.replace(arch, stage="stage2"), **common)
    rate2 = _rate(stage2, args.steps)
    print(f"fp32, batch {args.batch}, gf {args.gf}, df {args.df}, res blocks {args.res_blocks}, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, size, rate in (("stage I", args.stage1_resolution, rate1), ("stage II", args.resolution, rate2)):
        print(f"  {name} at {size} px: {rate:.3f} it/s ({args.batch * rate:.1f} images/s)")


if __name__ == "__main__":
    main()
