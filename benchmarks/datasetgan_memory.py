"""Peak memory of `datasetgan train` against the reference's feature layout, and pairs/s of `generate`.

For each resolution (256, 512 px; the `stylegan2` preset, untrained weights: memory does not depend on
training) a DatasetGAN folder with N annotated images (random 3-class masks) is written, and `datasetgan
train` runs in a fresh subprocess for a few steps per image (every image's maps are made once); its peak RSS
(ru_maxrss) is printed next to what the reference's layout would need for the same N images: an
N x H x W x C fp16 array plus its fp32 torch copy (REFERENCES: 42.7 + 85.4 GB for faces). Two values of N
show that ours is flat in N. Then `datasetgan generate` writes a few pairs in-process and prints pairs/s.

    python benchmarks/datasetgan_memory.py [--resolutions 256 512] [--counts 4 16] [--threads 1]
Figures on a shared CPU are pessimistic for time; memory is not affected.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.engine.driver import run_operator
from ganfactory.operators.datasetgan.classes import template_classes, write_classes
from ganfactory.operators.datasetgan.features import feature_channels
from ganfactory.operators.datasetgan.generator import SourceGenerator, latents_for, save_generator, write_latents
from ganfactory.operators.datasetgan.config import DatasetGANConfig
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.operators.stylegan.models import generator_architecture
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.presets import resolve_preset

GiB = 1024**3


def make_folder(out: Path, *, resolution: int, count: int) -> int:
    """A DatasetGAN folder of an untrained stylegan2-preset G with `count` annotated samples; returns C."""
    preset = resolve_preset("stylegan2", resolution, None, None)
    architecture = generator_architecture(preset, img_channels=3, num_classes=0)
    torch.manual_seed(0)
    G = Generator(**architecture, channels_last=True).eval().requires_grad_(False)
    source = SourceGenerator(G=G, architecture=architecture, class_names=[], checkpoint_sha256="untrained")
    folder = annotation_folder(out)
    for path in (folder.images_dir, folder.masks_dir):
        path.mkdir(parents=True, exist_ok=True)
    seeds = list(range(count))
    ids = [f"{i:04d}" for i in seeds]
    ws = latents_for(source, seeds=seeds, classes=[None] * count, truncation=0.7)
    write_latents(folder.latents_path, ws=ws, seeds=seeds, classes=[None] * count, ids=ids,
                  metadata={"checkpoint_sha256": "untrained"})
    save_generator(source, folder.generator_path)
    write_classes(folder.classes_path, template_classes(["background", "a", "b"]))
    rng = np.random.default_rng(0)
    blank = Image.new("RGB", (resolution, resolution))
    for sid in ids:
        blank.save(folder.images_dir / f"{sid}.png")  # annotation only checks that the image is there
        coarse = rng.integers(0, 3, (8, 8), dtype=np.uint8)
        Image.fromarray(coarse, mode="L").resize((resolution, resolution), Image.NEAREST).save(
            folder.masks_dir / f"{sid}.png")
    return feature_channels(G)


def run_child(args: list[str], *, threads: int) -> tuple[float, float]:
    """(peak RSS in GiB, seconds) of `python -m ganfactory datasetgan ...` in a fresh process."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t, r.returncode)")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "ganfactory", "-q", "datasetgan", *args],
                          capture_output=True, text=True, env=env)
    rss_kib, seconds, rc = done.stdout.split()[-3:]
    if rc != "0":
        raise SystemExit(f"datasetgan {' '.join(args)} failed:\n{done.stderr}")
    return int(rss_kib) / 1024**2, float(seconds)


def time_generate(out: Path, pairs: int) -> float:
    """Pairs per second of generate (synthesis + labelling every pixel + writing), start-up excluded."""
    config = DatasetGANConfig(num=pairs, drop_uncertain=0.0, batch=2, resume=str(out), predict=True, device="cpu",
                              precision="fp32")
    start = time.perf_counter()
    run_operator(DATASETGAN, (), out, config, sampler_only=True)
    return pairs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--pairs", type=int, default=2)
    # Labelling costs C x members x 128 multiply-adds per pixel (1.8 TFLOP for one 512 px image): slow on a CPU
    parser.add_argument("--generate-at", type=int, nargs="*", default=[256], help="resolutions to time generate at")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, here and in the train child")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'res':>4} {'N':>3} {'C':>5} {'peak RSS train':>15} {'reference fp16+fp32':>20} {'ratio':>7} {'train s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for resolution in args.resolutions:
            for count in args.counts:
                out = Path(tmp) / f"r{resolution}n{count}"
                channels = make_folder(out, resolution=resolution, count=count)
                rss, seconds = run_child(["train", str(out), "--members", "10", "--epochs", "1",
                                          "--steps-per-image", "2", "--device", "cpu", "--precision", "fp32"],
                                          threads=args.threads)
                reference = count * resolution * resolution * channels * (2 + 4) / GiB
                print(f"{resolution:>4} {count:>3} {channels:>5} {rss:>12.2f} GiB {reference:>16.1f} GiB "
                      f"{reference / rss:>6.0f}x {seconds:>8.1f}")
            if resolution not in args.generate_at:
                continue
            print(f"{resolution:>4} generate: {time_generate(out, args.pairs):.4f} pairs/s (10 members, fp32, "
                  f"{torch.get_num_threads()} threads, in-process)")


if __name__ == "__main__":
    main()
