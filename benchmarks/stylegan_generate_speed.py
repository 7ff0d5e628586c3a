"""Generation speed of a StyleGAN2 generator, end to end (files and manifest written) and generator only.

The baseline is the reference implementation's way of generating: one seed at a time (build z from the seed, run
G on a batch of one, convert, save the file), here with the same network and the same atomic file write. Ours is
`generate_dataset` as `ganfactory stylegan --predict` runs it: batches of one fixed shape, files written on a
worker thread while the next batch is generated, manifest lines after their files. Both run in this process one
after the other (alternating, `--repeats` rounds), so the ratio holds under load even when the rates do not.

    python benchmarks/stylegan_generate_speed.py                    # small and paper256 at 32 px
    python benchmarks/stylegan_generate_speed.py --quick            # a smoke run, a minute or two
    python benchmarks/stylegan_generate_speed.py --cfg paper256 --resolution 64 --count 128 --onnx
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ganfactory.engine.precision import autocast, cpu_supports_bf16
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.generate import GenerationPlan, TorchSampler, generate_dataset
from ganfactory.operators.stylegan.models import preset_for, synthesize
from ganfactory.operators.stylegan.onnx import OnnxStyleGANSampler, export_stylegan
from ganfactory.operators.stylegan.presets import build_generator
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import RunFolder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, load_average  # noqa: E402

DEVICE = torch.device("cpu")


def per_seed_loop(G: torch.nn.Module, seeds: list[int], out: Path) -> None:
    """The reference way: one seed, one forward pass, one file."""
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        image = to_uint8(synthesize(G, seeds=[seed], class_index=None, truncation=1.0, device=DEVICE))[0]
        save_image(image, out / f"seed{seed:08d}.png")


def ours(sampler: Callable, seeds: list[int], out: Path, *, batch: int) -> None:
    """`generate_dataset` into a fresh run folder: what `--predict` does after loading the generator."""
    plan = GenerationPlan(class_names=["images"], conditional=False, count=len(seeds), seed=seeds[0],
                          truncation=1.0, batch_size=batch)
    generate_dataset(sampler, run=RunFolder(out).create(), plan=plan, provenance={"checkpoint_sha256": "benchmark"})


def generator_only(G: torch.nn.Module, seeds: list[int], *, batch: int, precision: str = "fp32") -> None:
    with autocast(DEVICE, precision):
        for start in range(0, len(seeds), batch):
            to_uint8(synthesize(G, seeds=seeds[start:start + batch], class_index=None, truncation=1.0,
                                device=DEVICE))


def rate(run: Callable[[list[int], Path], None], count: int, tmp: Path, round_: int) -> float:
    seeds = list(range(round_ * 100_000, round_ * 100_000 + count))  # fresh seeds and folder: nothing to resume
    started = time.perf_counter()
    run(seeds, tmp / f"{round_}-{time.perf_counter_ns()}")
    return count / (time.perf_counter() - started)


def compare(label: str, variants: dict[str, Callable[[list[int], Path], None]], *, count: int, repeats: int,
            tmp: Path) -> dict[str, float]:
    """Median images/s of each variant over `repeats` alternating rounds (after one short warm-up each)."""
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():
        rate(run, min(count, 8), tmp, 99)  # warm-up: first-call allocations and kernel selection
    for round_ in range(repeats):
        for name, run in variants.items():
            rates[name].append(rate(run, count, tmp, round_))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    base = next(iter(medians.values()))
    for name, value in medians.items():
        print(f"  {label:<20} {name:<46} {value:8.1f} images/s  {value / base:5.1f}x")
    return medians


def run_config(cfg: str, resolution: int, args: argparse.Namespace, tmp: Path) -> None:
    config = StyleGANConfig(cfg=cfg, resolution=resolution)
    G = build_generator(preset_for(config), img_channels=3, num_classes=0).eval().requires_grad_(False)
    print(f"{cfg} at {resolution} px, {sum(p.numel() for p in G.parameters()) / 1e6:.1f} M parameters, "
          f"{args.count} images a round, batch {args.batch}; {load_average()}")
    sampler = TorchSampler(G, DEVICE, "fp32")
    variants: dict[str, Callable[[list[int], Path], None]] = {
        "per-seed loop + files (reference way)": lambda s, o: per_seed_loop(G, s, o),
        f"ganfactory generate_dataset, batch {args.batch}": lambda s, o: ours(sampler, s, o, batch=args.batch),
        f"generator only, batch {args.batch} (no files)": lambda s, o: generator_only(G, s, batch=args.batch),
    }
    if cpu_supports_bf16():  # emulated bf16 is slower than fp32; only measured where it is native
        bf16 = TorchSampler(G, DEVICE, "bf16")
        variants[f"ganfactory generate_dataset bf16, batch {args.batch}"] = (
            lambda s, o: ours(bf16, s, o, batch=args.batch))
    if args.onnx:
        state = {"G_ema": G.state_dict(), "config": config.to_json_dict(), "num_classes": 0, "img_channels": 3,
                 "class_names": ["images"]}
        onnx = OnnxStyleGANSampler(export_stylegan(state, tmp / f"{cfg}-{resolution}.onnx"))
        variants[f"generate_dataset onnxruntime, batch {args.batch}"] = (
            lambda s, o: ours(onnx, s, o, batch=args.batch))
    with torch.inference_mode():
        compare(f"{cfg} {resolution}px", variants, count=args.count, repeats=args.repeats, tmp=tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", nargs="+", default=["small", "paper256"])
    parser.add_argument("--resolution", type=int, nargs="+", default=[32])
    parser.add_argument("--count", type=int, default=96, help="images per variant and round")
    parser.add_argument("--batch", type=int, default=16, help="ganfactory's batch (GenerationPlan.batch_size)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds; the median is printed")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--onnx", action="store_true", help="also onnxruntime on the exported generator")
    parser.add_argument("--quick", action="store_true", help="16 images, one round: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.count, args.repeats = 16, 1
    torch.set_num_threads(args.threads)
    print(describe(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in args.cfg:
            for resolution in args.resolution:
                run_config(cfg, resolution, args, Path(tmp))
    print(f"done; {load_average()}")


if __name__ == "__main__":
    main()
