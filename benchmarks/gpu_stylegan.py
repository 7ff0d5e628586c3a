"""StyleGAN2-ADA on a CUDA GPU: s/kimg and peak memory of a whole run, to set against NVIDIA's published figures
for paper256 at 256 px (stylegan2-ada-pytorch README: 21.6-24.2 s/kimg on one V100, 12.5 on one A100; batch 64).

A real `ganfactory stylegan` run (data loading, ADA at a forced p, R1, path length, EMA, ticks, checkpoints) with
fp16 mixed precision (autocast + loss scaling) on synthetic images unless --data is given; prints the steady-state
s/kimg (median of the ticks after the first), the peak memory torch allocated (torch.cuda.max_memory_allocated)
and the GPU's name. `--device cpu --quick` is a smoke run of the same path on a CPU (fp32, 16 px, a few steps).

    python benchmarks/gpu_stylegan.py                                  # paper256, 256 px, batch 64, fp16
    python benchmarks/gpu_stylegan.py --data DATA --total-kimg 20
    python benchmarks/gpu_stylegan.py --device cpu --quick
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402
from _whole_run import synthetic_images, whole_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--data", type=Path, default=None, help="an image folder (default: synthetic images)")
    parser.add_argument("--cfg", default="paper256")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--precision", choices=("fp16", "bf16", "fp32"), default="fp16")
    parser.add_argument("--total-kimg", type=float, default=10.0)
    parser.add_argument("--tick-kimg", type=float, default=2.0)
    parser.add_argument("--p", type=float, default=0.2, help="ADA probability, held fixed (--aug fixed)")
    parser.add_argument("--quick", action="store_true", help="small, 16 px, batch 4, 0.016 kimg, fp32 on CPU")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("No CUDA GPU is visible; run with --device cpu --quick for a smoke run.")
    if args.quick:
        args.cfg, args.resolution, args.batch, args.total_kimg, args.tick_kimg = "small", 16, 4, 0.016, 0.008
        args.precision = "fp32" if args.device == "cpu" else args.precision
    print(describe(torch.get_num_threads()))
    if args.device == "cuda":
        print(f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = args.data or synthetic_images(tmp / "data", count=max(64, args.batch), resolution=args.resolution)
        result = whole_run(data, tmp / "run", cfg=args.cfg, resolution=args.resolution, batch_size=args.batch,
                           precision=args.precision, device=args.device, total_kimg=args.total_kimg,
                           tick_kimg=args.tick_kimg, aug="fixed", augment_p=args.p, min_images=10)
    peak = torch.cuda.max_memory_allocated() / 2**30 if args.device == "cuda" else float("nan")
    print(f"{args.cfg} {args.resolution} px, batch {args.batch}, {args.precision} on {args.device}: "
          f"{result['sec_per_kimg']:.2f} s/kimg ({result['ticks']} ticks, {result['seconds']:.0f} s wall), "
          f"peak memory allocated {peak:.2f} GiB; NVIDIA: 21.6-24.2 s/kimg (V100), 12.5 (A100)")


if __name__ == "__main__":
    main()
