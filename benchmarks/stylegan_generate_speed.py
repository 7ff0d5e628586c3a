"""Generation speed of a StyleGAN2 generator: images/s through torch and through onnxruntime.

The baseline is the reference implementation's way of generating (one seed at a time: build z from
the seed, run G on a batch of one, convert, save), which we reproduce with the same network; ours
runs batches of latents through torch, and through the exported ONNX model in onnxruntime.
File writing is left out of every variant, so the figures compare the generator paths only.

    python benchmarks/stylegan_generate_speed.py --cfg paper256 --resolution 32 --count 256
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from ganfactory.operators.stylegan.onnx import OnnxStyleGANSampler, export_stylegan
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.models import preset_for, synthesize
from ganfactory.operators.stylegan.presets import build_generator
from ganfactory.output.images import to_uint8


def timed(label: str, count: int, run) -> float:  # noqa: ANN001
    run(min(count, 8))  # warm-up: first-call allocations and kernel selection
    start = time.perf_counter()
    run(count)
    rate = count / (time.perf_counter() - start)
    print(f"{label:<44} {rate:8.1f} images/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", default="paper256")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--count", type=int, default=256, help="images per variant")
    parser.add_argument("--batch", type=int, default=32, help="batch of the batched variants")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = StyleGANConfig(cfg=args.cfg, resolution=args.resolution)
    preset = preset_for(config)
    G = build_generator(preset, img_channels=3, num_classes=0).eval().requires_grad_(False)
    device = torch.device("cpu")
    print(f"{args.cfg} at {args.resolution} px, {sum(p.numel() for p in G.parameters()) / 1e6:.1f} M parameters, "
          f"{args.threads} threads")

    def per_seed(n: int) -> None:
        for seed in range(n):
            to_uint8(synthesize(G, seeds=[seed], class_index=None, truncation=1.0, device=device))

    def batched(n: int) -> None:
        for start in range(0, n, args.batch):
            to_uint8(synthesize(G, seeds=list(range(start, min(n, start + args.batch))), class_index=None,
                                truncation=1.0, device=device))

    def batched_bf16(n: int) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            batched(n)

    base = timed("reference-style loop, one seed at a time", args.count, per_seed)
    ours = timed(f"ganfactory torch, batches of {args.batch}", args.count, batched)
    ours_bf16 = timed(f"ganfactory torch bf16, batches of {args.batch}", args.count, batched_bf16)
    with tempfile.TemporaryDirectory() as tmp:
        state = {"G_ema": G.state_dict(), "config": config.to_json_dict(), "num_classes": 0, "img_channels": 3,
                 "class_names": ["images"]}
        sampler = OnnxStyleGANSampler(export_stylegan(state, Path(tmp) / "g.onnx"))

        def onnx_batched(n: int) -> None:
            for start in range(0, n, args.batch):
                to_uint8(sampler(seeds=list(range(start, min(n, start + args.batch))), class_index=None,
                                 truncation=1.0))

        ort = timed(f"ganfactory onnxruntime, batches of {args.batch}", args.count, onnx_batched)
    print(f"speed-up over the per-seed loop: torch {ours / base:.1f}x, torch bf16 {ours_bf16 / base:.1f}x, "
          f"onnxruntime {ort / base:.1f}x")


if __name__ == "__main__":
    main()
