"""`ganfactory demo`: the embedded default. Real handwritten digits that ship inside scikit-learn (100 per class
train, the other 797 held out), a short StyleGAN2-ADA run of the `small` preset on the CPU, generated images with
their manifest, an ONNX export, an interpolation GIF, and the figure that matters: a classifier trained on the
generated digits only, tested on the held-out real digits, against one trained on the real training digits.

`--dataset faces` keeps the earlier demo (scikit-image's lfw_subset: 100 faces, 100 non-faces). It is a longer
example: in the 4-minute budget its samples are blurry grey ovals, not recognisable faces (issue 22); give it
--max-minutes 20 or more."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path

import click
import numpy as np
from PIL import Image

from ganfactory.config import PRECISION_CHOICES
from ganfactory.errors import InputError

log = logging.getLogger(__name__)

DEMO_KIMG = 10.0
DEMO_MINUTES = 2.5  # the training budget: with generation, export, the GIF and the utility figure under 4 minutes
DEMO_IMAGES_PER_CLASS = 32  # faces
DEMO_DIGITS_PER_CLASS = 50  # 500 generated digits: enough to train the utility classifier, quick to write
DEMO_BATCH = 8  # as measured by benchmarks/stylegan_quality.py (issue 22)


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


DIGITS_PER_CLASS = 100


def digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as uint8 [N, 32, 32] (Lanczos to 28 px, 2 px black border, as MNIST
    frames digits): (train images, train labels, held-out images, held-out labels), 100 per class train."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.zeros((len(digits.images), 32, 32), dtype=np.uint8)
    for index, digit in enumerate(digits.images):
        pixels = Image.fromarray((digit * (255 / 16)).astype(np.uint8), mode="L")
        small = pixels.resize((28, 28), Image.Resampling.LANCZOS)
        images[index, 2:30, 2:30] = np.asarray(small)
    labels = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    train = np.concatenate([order[labels[order] == k][:DIGITS_PER_CLASS] for k in range(10)])
    test = np.setdiff1d(order, train)
    return images[train], labels[train], images[test], labels[test]


def write_digits(folder: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Class folders folder/0 ... folder/9 of PNGs (the layout `ganfactory stylegan` takes)."""
    for index, (image, label) in enumerate(zip(images, labels.tolist())):
        path = folder / str(label) / f"{index:04d}.png"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image, mode="L").save(path)
    return folder


def digits_utility(generated: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                   *, epochs: int = 5, width: int = 16) -> dict[str, float]:
    """Accuracy on the held-out real digits of one classifier trained on the generated digits only and one
    trained on the real training digits: the same small classifier (metrics/classifier.py at half its width, 5
    epochs: ~0.98 on the real digits and seconds on a CPU, where the full one takes minutes), seed and epochs."""
    import torch

    from ganfactory.data.dataset import load_image_folder
    from ganfactory.metrics.classifier import score_classifier, train_classifier

    names = [str(k) for k in range(10)]
    gen = load_image_folder(generated, resolution=32, channels=1)
    gen_labels = torch.tensor([int(gen.class_names[k]) for k in gen.labels.tolist()])
    test_x, test_y = torch.from_numpy(test[0])[:, None], torch.from_numpy(test[1])
    real = (torch.from_numpy(train[0])[:, None], torch.from_numpy(train[1]))
    sets = {"generated": (gen.images, gen_labels), "real": real}
    scores = {}
    for name, (x, y) in sets.items():
        model = train_classifier(x, y, num_classes=10, epochs=epochs, width=width, seed=0)
        scores[name] = score_classifier(model, test_x, test_y, names).accuracy
    return scores


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
@click.option("--dataset", type=click.Choice(["digits", "faces"]), default="digits", show_default=True,
              help="digits: scikit-learn's handwritten digits (10 classes, 797 held out for the utility figure); "
                   "faces: scikit-image's faces/non-faces, a longer example (give it --max-minutes 20 or more).")
@click.option("--total-kimg", default=DEMO_KIMG, show_default=True, type=click.FloatRange(min=0.01),
              help="Training length, unless --max-minutes ends training first.")
@click.option("--max-minutes", default=DEMO_MINUTES, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Training time budget; then the run saves a checkpoint and generates from it.")
# fp16 is left out: it needs CUDA, and the demo is a CPU example.
@click.option("--precision", type=click.Choice([p for p in PRECISION_CHOICES if p != "fp16"]), default="auto",
              show_default=True,
              help="auto: bf16 on CPUs with native bf16 (about 1.6x faster there), else fp32 (as in every operator).")
def demo_command(out: Path, dataset: str, total_kimg: float, max_minutes: float, precision: str) -> None:
    """Train on a bundled dataset, generate images and measure what they are worth, in about 4 minutes on a CPU."""
    import time

    import torch

    from ganfactory.export.cli import export_run
    from ganfactory.operators.stylegan.config import StyleGANConfig
    from ganfactory.operators.stylegan.interpolate import interpolate_run
    from ganfactory.operators.stylegan.operator import run_stylegan

    started = time.monotonic()
    threads = threads_for_this_machine()
    torch.set_num_threads(threads)
    if dataset == "digits":
        split = digits_split()
        data = write_digits(out / "dataset" / "digits", split[0], split[1])
        described = f"{len(split[0])} images, 10 classes; {len(split[2])} held out"
        gif_class, per_class = "3", DEMO_DIGITS_PER_CLASS
    else:
        data, described = write_lfw_subset(out / "dataset"), "200 images, 2 classes"
        gif_class, per_class = "faces", DEMO_IMAGES_PER_CLASS
    # The 'small' preset at 32 px (issue 22's defaults); digits must not be mirrored (a flipped 3 is no digit).
    config = StyleGANConfig(resolution=32, cfg="small", batch_size=DEMO_BATCH, total_kimg=total_kimg,
                            generate_num=per_class, tick_kimg=1.0, mirror=dataset == "faces", precision=precision,
                            device="cpu", max_minutes=max_minutes)
    result = run_stylegan(data, out / "run", config)
    onnx_path = export_run(result.run.root)
    gif = interpolate_run(result.run.root, seeds=[1, 2, 3, 4], frames=12, class_name=gif_class)
    budget = f" (time budget {max_minutes:g} min reached)" if result.budget_reached else ""
    click.echo(f"Trained:      {result.done:.2f} of {result.total:g} kimg in {result.train_seconds / 60:.1f} "
               f"min{budget}, "
               f"{result.precision} on {result.device} ({threads} thread{'s' if threads > 1 else ''})")
    click.echo(f"Dataset:      {data} ({described})")
    click.echo(f"Generated:    {result.images_written} images in {result.run.data_dir}")
    click.echo(f"Manifest:     {result.run.manifest_path}")
    click.echo(f"Samples:      {result.run.samples_dir} (one row per class, the same seeds in every row)")
    click.echo(f"ONNX model:   {onnx_path}")
    click.echo(f"Morphing GIF: {gif}")
    if dataset == "digits":
        scores = digits_utility(result.run.data_dir, split[:2], split[2:])
        click.echo(f"Utility:      a classifier trained on the {result.images_written} generated digits only scores "
                   f"{scores['generated']:.3f} on the {len(split[2])} held-out real digits; trained on the "
                   f"{len(split[0])} real ones, {scores['real']:.3f} "
                   f"({scores['generated'] / scores['real']:.0%} of it)")
    click.echo(f"Took:         {(time.monotonic() - started) / 60:.1f} min in all")
    click.echo(f"Look at it:   ganfactory console --runs {shlex.quote(str(result.run.root))}   (then open http://127.0.0.1:8080/)")


def register(group: click.Group) -> None:
    group.add_command(demo_command)
