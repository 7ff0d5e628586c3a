"""`ganfactory demo`: the embedded default. A real two-class dataset that ships inside scikit-image
(lfw_subset: 100 faces, 100 non-faces), a short StyleGAN2-ADA run of the `small` preset on the CPU,
generated images with their manifest, an ONNX export and an interpolation GIF."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path

import click
import numpy as np
from PIL import Image

from ganfactory.errors import InputError

log = logging.getLogger(__name__)

DEMO_KIMG = 10.0
DEMO_MINUTES = 3.5  # the training budget: with generation, export and the GIF about 4 minutes on any 2-core CPU
DEMO_IMAGES_PER_CLASS = 32


def threads_for_this_machine() -> int:
    """Torch threads for the demo: every core when the machine is idle, fewer when other processes keep cores
    busy (load average). On a shared 2-core machine two OpenMP threads spin-waiting on a preempted sibling ran
    a step ~8x slower than one thread did (0.3 kimg in 3.5 min against ~4)."""
    import torch

    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # not on every platform
        busy = 0.0
    return max(1, min(torch.get_num_threads(), int(cores - busy + 0.5)))


def write_lfw_subset(folder: Path) -> Path:
    """faces/ and nonfaces/ PNGs from scikit-image's bundled lfw_subset (25x25 grayscale, no download)."""
    try:
        from skimage.data import lfw_subset
    except ImportError:
        raise InputError("The demo needs scikit-image for its bundled faces; install it with "
                         "'pip install scikit-image' (make demo does this).") from None
    images = lfw_subset()  # [200, 25, 25] floats in [0, 1]: the first 100 are faces
    for index, image in enumerate(images):
        class_name = "faces" if index < 100 else "nonfaces"
        path = folder / class_name / f"{index % 100:03d}.png"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.round(image * 255).astype(np.uint8), mode="L").save(path)
    return folder


@click.command("demo")
@click.argument("out", type=click.Path(path_type=Path), default=Path("runs/demo"))
@click.option("--total-kimg", default=DEMO_KIMG, show_default=True, type=click.FloatRange(min=0.01),
              help="Training length, unless --max-minutes ends training first.")
@click.option("--max-minutes", default=DEMO_MINUTES, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Training time budget; then the run saves a checkpoint and generates from it.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 on CPUs with native bf16 (about 1.6x faster there), else fp32 (as in every operator).")
def demo_command(out: Path, total_kimg: float, max_minutes: float, precision: str) -> None:
    """Train on a bundled two-class face dataset and generate images, in about 4 minutes on a CPU."""
    import time

    import torch

    from ganfactory.export.cli import export_run
    from ganfactory.operators.stylegan.config import StyleGANConfig
    from ganfactory.operators.stylegan.interpolate import interpolate_run
    from ganfactory.operators.stylegan.operator import run_stylegan

    started = time.monotonic()
    threads = threads_for_this_machine()
    torch.set_num_threads(threads)
    data = write_lfw_subset(out / "dataset")
    # The 'small' preset (32 maps at 32 px, 64 below): one kimg costs ~34 CPU s in fp32 on an AVX2 core, so a
    # 2-core CPU without bf16 trains ~8-10 kimg in the budget (benchmarks/demo_speed.py).
    config = StyleGANConfig(resolution=32, cfg="small", batch_size=16, total_kimg=total_kimg,
                            generate_num=DEMO_IMAGES_PER_CLASS, tick_kimg=1.0, mirror=True, precision=precision,
                            device="cpu", max_minutes=max_minutes)
    result = run_stylegan(data, out / "run", config)
    onnx_path = export_run(result.run.root)
    gif = interpolate_run(result.run.root, seeds=[1, 2, 3, 4], frames=12, class_name="faces")
    budget = f" (time budget {max_minutes:g} min reached)" if result.budget_reached else ""
    click.echo(f"Trained:      {result.done:.2f} of {result.total:g} kimg in {result.train_seconds / 60:.1f} "
               f"min{budget}, "
               f"{result.precision} on {result.device} ({threads} thread{'s' if threads > 1 else ''})")
    click.echo(f"Dataset:      {data} (200 images, 2 classes)")
    click.echo(f"Generated:    {result.images_written} images in {result.run.data_dir}")
    click.echo(f"Manifest:     {result.run.manifest_path}")
    click.echo(f"Samples:      {result.run.samples_dir}")
    click.echo(f"ONNX model:   {onnx_path}")
    click.echo(f"Morphing GIF: {gif}")
    click.echo(f"Took:         {(time.monotonic() - started) / 60:.1f} min in all")
    click.echo(f"Look at it:   ganfactory console --runs {shlex.quote(str(result.run.root))}   (then open http://127.0.0.1:8080/)")


def register(group: click.Group) -> None:
    group.add_command(demo_command)
