"""Feature-extraction speed of the FID Inception on each inference path, with peak memory and agreement.

Paths: torch fp32 (the reference), torch fp32 channels-last, torch bf16 autocast (only where the CPU has native
bf16, detected at run time; elsewhere reported as skipped, because emulated bf16 is slower and less exact), and
onnxruntime on the same network exported to ONNX once. Each path runs in its own process, so its peak RSS
(ru_maxrss) is its own; the images are the same random-content 128 px RGB images for every path, resized to
299 px as in evaluation. Agreement is the largest absolute feature difference from fp32 (features are ~0-5).

    .venv/bin/python benchmarks/metrics_speed.py [--images 64] [--batch 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ganfactory.engine.precision import cpu_supports_bf16
from ganfactory.metrics.loaders import export_inception_onnx, load_feature_network, load_inception_onnx

PATHS = ("torch", "torch-channels-last", "torch-bf16", "onnxruntime")


def make_images(count: int, seed: int = 0) -> list[torch.Tensor]:
    """Smooth colour fields upsampled from 8x8: image-like statistics, no files needed."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 256, (count, 3, 8, 8), generator=generator).float()
    smooth = torch.nn.functional.interpolate(coarse, size=128, mode="bicubic", align_corners=False)
    return list(smooth.clamp(0, 255).round().to(torch.uint8))


def worker(path: str, *, images: int, batch: int, threads: int, onnx_file: Path, out: Path) -> None:
    """Run one path in this process; print a JSON line with images/s and peak RSS, save the features."""
    torch.set_num_threads(threads)
    if path == "onnxruntime":
        network = load_inception_onnx(onnx_file, batch_size=batch)
    else:
        network = load_feature_network(None, backend=path, batch_size=batch)
    data = make_images(images)
    network.extract(data[:batch])  # warm-up: first-call allocations and kernel selection
    started = time.perf_counter()
    features = network.extract(data)
    seconds = time.perf_counter() - started
    np.save(out, features)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"path": path, "images_per_s": images / seconds, "seconds": seconds, "peak_rss_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=PATHS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--onnx-file", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, images=args.images, batch=args.batch, threads=args.threads, onnx_file=args.onnx_file,
               out=args.out)
        return
    native_bf16 = cpu_supports_bf16()
    print(f"{args.images} images of 128 px -> 299 px, batch {args.batch}, {args.threads} torch threads; "
          f"native bf16: {native_bf16}; CPU capability: {torch.backends.cpu.get_cpu_capability()}")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = export_inception_onnx(Path(tmp) / "inception.onnx")
        results, reference = [], None
        for path in PATHS:
            if path == "torch-bf16" and not native_bf16:
                print(f"{path:<22} skipped: this CPU has no native bf16 (avx512_bf16/AMX); emulated bf16 is slower")
                continue
            out = Path(tmp) / f"{path}.npy"
            line = subprocess.run([sys.executable, __file__, "--worker", path, "--images", str(args.images),
                                   "--batch", str(args.batch), "--threads", str(args.threads), "--onnx-file",
                                   str(onnx_file), "--out", str(out)], capture_output=True, text=True, check=True)
            result = json.loads(line.stdout.strip().splitlines()[-1])
            features = np.load(out)
            reference = features if reference is None else reference
            result["max_abs_diff"] = float(np.abs(features - reference).max())
            results.append(result)
            print(f"{path:<22} {result['images_per_s']:7.2f} images/s  peak RSS {result['peak_rss_mib']:7.0f} MiB"
                  f"  max |diff| vs fp32 {result['max_abs_diff']:.2e}")
        base = results[0]["images_per_s"]
        print("speed vs torch fp32: " + ", ".join(f"{r['path']} {r['images_per_s'] / base:.2f}x" for r in results))


if __name__ == "__main__":
    main()
