"""Whole-run StyleGAN2-ADA training speed against this machine's conv floor.

For each cfg x resolution x precision: a real `ganfactory stylegan` run on synthetic images (data loading, ADA at a
forced p via --aug fixed, R1, path length, EMA, ticks and checkpoints), its steady-state s/kimg from the run's
logs/stats.jsonl (median of the ticks after the first). Beside it:

  conv rate    a large 3x3 conv (forward + backward, channels-last) measured here, GFLOP/s, per precision
  GFLOP/img    FLOP per trained image, counted with torch's FLOP formulas on the four phases of a step
               (stylegan_speed.Trainer), weighted by how often each runs (R1 every 16, path length every 4)
  floor        GFLOP/img * 1000 / conv rate, in s/kimg: the run if every FLOP ran at the conv rate
  of floor     floor / measured s/kimg

bf16 runs only where the CPU has native bf16 (avx512_bf16/AMX); elsewhere it is reported as skipped. `--profile`
runs one configuration under torch.profiler and prints the top time sinks by self CPU time (ADA's grid_sample,
R1's double backward, small ops, the optimiser, Python).

    python benchmarks/stylegan_train_speed.py                        # small+paper256, 32+64 px, fp32 (+bf16)
    python benchmarks/stylegan_train_speed.py --quick                # small, 32 px, a few steps: a smoke run
    python benchmarks/stylegan_train_speed.py --cfg paper256 --resolution 32 --profile
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from ganfactory.engine.precision import cpu_supports_bf16

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, load_average  # noqa: E402
from _whole_run import synthetic_images, whole_run  # noqa: E402
from stylegan_speed import Trainer, conv_peak_gflops, count_gflop  # noqa: E402


def gflop_per_image(cfg: str, resolution: int, batch: int) -> float:
    """FLOP per trained image (GFLOP), fp32 counting (the count does not depend on the precision)."""
    trainer = Trainer(cfg=cfg, resolution=resolution, batch=batch, precision="fp32", seed=0)
    counts = count_gflop(trainer)
    per_step = sum(counts[name] * weight for name, (_, weight) in trainer.phases().items())
    return per_step / batch


def profile_run(data: Path, out: Path, options: dict, rows: int) -> None:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        whole_run(data, out, **options)
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", nargs="+", default=["small", "paper256"])
    parser.add_argument("--resolution", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--total-kimg", type=float, default=0.8, help="long enough for several steady ticks")
    parser.add_argument("--tick-kimg", type=float, default=0.16)
    parser.add_argument("--p", type=float, default=0.2, help="ADA probability, held fixed (--aug fixed)")
    parser.add_argument("--images", type=int, default=256, help="synthetic training images")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--profile", action="store_true", help="profile the first configuration instead")
    parser.add_argument("--quick", action="store_true", help="small, 32 px, fp32, 0.032 kimg: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.cfg, args.resolution, args.precision = ["small"], [32], ["fp32"]
        args.total_kimg, args.tick_kimg, args.images = 0.032, 0.016, 32
    torch.set_num_threads(args.threads)
    print(describe(args.threads))
    native = cpu_supports_bf16()
    precisions = [p for p in args.precision if p == "fp32" or native]
    for skipped in sorted(set(args.precision) - set(precisions)):
        print(f"{skipped}: skipped, this CPU has no native bf16 (emulated bf16 is slower than fp32)")
    rates = {precision: conv_peak_gflops(precision) for precision in precisions}
    print("3x3 conv rate here: " + ", ".join(f"{p} {rate:.0f} GFLOP/s" for p, rate in rates.items()))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for resolution in args.resolution:
            data = synthetic_images(tmp / f"data{resolution}", count=args.images, resolution=resolution)
            for cfg in args.cfg:
                flop = gflop_per_image(cfg, resolution, args.batch)
                for precision in precisions:
                    options = dict(cfg=cfg, resolution=resolution, batch_size=args.batch, precision=precision,
                                   device="cpu", total_kimg=args.total_kimg, tick_kimg=args.tick_kimg, aug="fixed",
                                   augment_p=args.p, min_images=min(args.images, 10))
                    out = tmp / f"run-{cfg}-{resolution}-{precision}"
                    if args.profile:
                        profile_run(data, out, options, rows=25)
                        return
                    result = whole_run(data, out, **options)
                    floor = flop * 1000 / rates[precision]
                    fraction = floor / result["sec_per_kimg"]
                    print(f"{cfg:<9} {resolution:>3} px {precision:<5} batch {args.batch}: "
                          f"{result['sec_per_kimg']:8.1f} s/kimg ({result['ticks']} ticks, {result['seconds']:.0f} s "
                          f"wall), {flop:6.1f} GFLOP/img, floor {floor:7.1f} s/kimg, {fraction:5.0%} of floor; "
                          f"{load_average()}")
    print(f"done; {load_average()}")


if __name__ == "__main__":
    main()
