"""`ganfactory evaluate` end to end: images/s on each feature path, and how far a reduced precision moves FID.

Writes N "generated" and N "real" 32-px PNGs (smooth random colour fields; the generated ones blurred, so FID is
well above zero), then runs `run_evaluate` (read, decode, resize to 299 px, Inception features, every figure,
metrics.json) on each path with an empty feature cache, one after the other in this process, `--repeats`
alternating rounds, and prints the median images/s (both sets counted, as in the issue's 8.7 images/s) and the
ratio to the first path, measured in the same run:

  before        torch fp32 NCHW, decoding and resizing in turn with the network (the code before issue 25)
  auto          what `evaluate` uses now: bf16 autocast where the CPU has native bf16, else onnxruntime fp32
                (the Inception exported to ONNX once, before the timings); decoding and resizing on a worker
                thread, a chunk ahead
  channels-last torch fp32 in NHWC memory, prefetching
  onnxruntime   fp32 on onnxruntime, where auto is bf16 (so fp32's fastest path is still measured)

FID of each path is printed against the fp32 figure and its bootstrap interval: a path is good enough when it
moves FID by less than the interval's half-width. Last, a new generated set against the already-seen real set
shows the real features reused from the cache.

    python benchmarks/metrics_speed.py               # 512 + 512 images, 2 rounds
    python benchmarks/metrics_speed.py --quick       # 64 + 64 images, one round
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.engine.precision import cpu_supports_bf16
from ganfactory.metrics import features as features_module
from ganfactory.metrics.evaluate import EvaluateOptions, run_evaluate
from ganfactory.metrics.loaders import load_feature_network

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, load_average  # noqa: E402


def write_images(folder: Path, count: int, *, seed: int, blur: bool) -> Path:
    """`count` 32-px RGB PNGs: colour fields upsampled from 6x6 (image-like statistics)."""
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 256, (count, 3, 6, 6), generator=generator).float()
    images = torch.nn.functional.interpolate(coarse, size=32, mode="bicubic", align_corners=False)
    if blur:
        images = torch.nn.functional.avg_pool2d(images, 5, stride=1, padding=2)
    pixels = images.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    for index, image in enumerate(pixels):
        Image.fromarray(np.ascontiguousarray(image)).save(folder / f"{index:05d}.png")
    return folder


def evaluate_once(generated: Path, real: Path, *, backend: str, prefetch: int, batch: int,
                  tmp: Path) -> tuple[float, dict]:
    """images/s of one `run_evaluate` with an empty feature cache; the report."""
    features_module.PREFETCH = prefetch
    out = tmp / f"eval-{time.perf_counter_ns()}"
    options = EvaluateOptions(backend=backend, rounds=50, out=out, cache_dir=out / "cache", batch_size=batch)
    started = time.perf_counter()
    report = run_evaluate(generated, real, options=options).report
    seconds = time.perf_counter() - started
    return (report["overall"]["n_generated"] + report["overall"]["n_real"]) / seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512, help="images in each set")
    parser.add_argument("--batch", type=int, default=32, help="network batch (EvaluateOptions.batch_size)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds; the median is printed")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--quick", action="store_true", help="64 + 64 images, one round")
    args = parser.parse_args()
    if args.quick:
        args.images, args.repeats = 64, 1
    torch.set_num_threads(args.threads)
    print(describe(args.threads))
    paths = {"before: torch fp32 NCHW, no prefetch": ("torch", 0), "auto (evaluate's default)": ("auto", 1),
             "torch fp32 channels-last": ("torch-channels-last", 1)}
    if cpu_supports_bf16():
        paths["onnxruntime fp32"] = ("onnxruntime", 1)
    for backend, _ in paths.values():  # the one-time ONNX export of the Inception stays out of the timings
        load_feature_network(None, backend=backend)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        real = write_images(tmp / "real", args.images, seed=0, blur=False)
        generated = write_images(tmp / "generated", args.images, seed=1, blur=True)
        print(f"{args.images} generated + {args.images} real 32-px PNGs -> 299 px, batch {args.batch}")
        rates: dict[str, list[float]] = {label: [] for label in paths}
        reports: dict[str, dict] = {}
        for _ in range(args.repeats):
            for label, (backend, prefetch) in paths.items():
                rate, reports[label] = evaluate_once(generated, real, backend=backend, prefetch=prefetch,
                                                     batch=args.batch, tmp=tmp)
                rates[label].append(rate)
        report_speed(rates, reports)
        report_reuse(tmp, real, args)
    print(f"done; {load_average()}")


def report_speed(rates: dict[str, list[float]], reports: dict[str, dict]) -> None:
    base = None
    reference = next(iter(reports.values()))["overall"]["fid"]
    half = (reference["high"] - reference["low"]) / 2
    for label, values in rates.items():
        rate = statistics.median(values)
        base = base or rate
        network = reports[label]["network"]
        fid = reports[label]["overall"]["fid"]["value"]
        print(f"  {label:<38} {rate:7.1f} images/s  {rate / base:5.2f}x   [{network['backend']}, "
              f"{network['precision']}]  FID {fid:8.3f} (moved {abs(fid - reference['value']):.3f}; fp32 interval "
              f"half-width {half:.3f})")


def report_reuse(tmp: Path, real: Path, args: argparse.Namespace) -> None:
    """A second generated set against the real set evaluated before: only the new images are computed."""
    cache = tmp / "shared-cache"
    first = write_images(tmp / "generated-a", args.images, seed=2, blur=True)
    second = write_images(tmp / "generated-b", args.images, seed=3, blur=True)
    for folder in (first, second):
        options = EvaluateOptions(rounds=50, out=tmp / f"reuse-{folder.name}", cache_dir=cache,
                                  batch_size=args.batch)
        started = time.perf_counter()
        report = run_evaluate(folder, real, options=options).report
        print(f"  {folder.name} against the same real set: {time.perf_counter() - started:6.1f} s, features "
              f"reused {report['features_reused']}")


if __name__ == "__main__":
    main()
