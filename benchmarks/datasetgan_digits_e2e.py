"""DatasetGAN end to end on real digits (scikit-learn's load_digits), printing figures.

Needs a StyleGAN run of this project trained on the digits as class folders (see --help); then:
sample 16 images to annotate and 16 held out, annotate both by script (the digit's pixels above a threshold
get the class of the digit the conditional generator drew, the rest is background: 11 classes), train the
interpreter, report its pixel accuracy and per-class IoU on the held-out samples, and generate N pairs.
Then the downstream check, `datasetgan evaluate`: a U-Net trained on (a) the 16 annotated samples and (b) the
generated pairs (and b+a), scored by mIoU on real held-out digits (--real-digits CLASS/*.png, annotated by the
same threshold: WORK/real_test/images + masks).

    python benchmarks/datasetgan_digits_e2e.py RUN WORK [--num 500] [--real-digits /work/exp/digits_test]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.engine.checkpoint import resolve_checkpoint_path
from ganfactory.engine.driver import run_operator
from ganfactory.engine.precision import resolve_device
from ganfactory.operators.datasetgan.classes import template_classes, write_classes
from ganfactory.operators.datasetgan.config import DatasetGANConfig, SampleOptions, SegmentationEvalConfig
from ganfactory.operators.datasetgan.evaluate import evaluate_segmentation, format_report
from ganfactory.operators.datasetgan.generator import load_generator, read_latents
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.operator import load_interpreter
from ganfactory.operators.datasetgan.predict import label_latents
from ganfactory.operators.datasetgan.sample import sample_for_annotation
from ganfactory.operators.datasetgan.spec import DATASETGAN

THRESHOLD = 100  # 8-bit gray: digit strokes are bright on a black background
DIGITS = ["background"] + [str(d) for d in range(10)]
FOREGROUND = ["background", "digit"]


def annotate(out: Path, classes: list[str]) -> None:
    """The 'annotator': threshold each sample; label its strokes with the digit it was drawn as (11 classes)
    or just as foreground (2 classes)."""
    folder = annotation_folder(out)
    write_classes(folder.classes_path, template_classes(classes))
    folder.masks_dir.mkdir(exist_ok=True)
    for sample in json.loads(folder.samples_path.read_text()):
        gray = np.asarray(Image.open(folder.images_dir / f"{sample['id']}.png").convert("L"))
        digit = classes.index(sample["class_name"]) if len(classes) > 2 else 1
        Image.fromarray(np.where(gray > THRESHOLD, digit, 0).astype(np.uint8), mode="L").save(
            folder.masks_dir / f"{sample['id']}.png")


def real_test_set(digits: Path, target: Path, classes: list[str]) -> Path:
    """Real held-out digits (DIGITS/<class>/*.png) annotated like annotate(): TARGET/images + TARGET/masks."""
    (target / "images").mkdir(parents=True, exist_ok=True)
    (target / "masks").mkdir(exist_ok=True)
    for path in sorted(digits.glob("*/*.png")):
        gray = np.asarray(Image.open(path).convert("L"))
        label = classes.index(path.parent.name) if len(classes) > 2 else 1
        name = f"{path.parent.name}_{path.stem}.png"
        Image.fromarray(gray, mode="L").save(target / "images" / name)
        Image.fromarray(np.where(gray > THRESHOLD, label, 0).astype(np.uint8), mode="L").save(target / "masks" / name)
    return target


def held_out_scores(out: Path, holdout: Path, classes: list[str]) -> tuple[float, float, list[float]]:
    """(pixel accuracy, foreground accuracy, per-class IoU) of OUT's interpreter on the held-out samples."""
    folder, held = annotation_folder(out), annotation_folder(holdout)
    source = load_generator(folder.generator_path, device=torch.device("cpu"))
    ensemble = load_interpreter(resolve_checkpoint_path(out))
    ws, ids, _ = read_latents(held.latents_path)
    pred = label_latents(source.G, ensemble, ws, pixel_chunk=16384).masks.numpy()
    truth = np.stack([np.asarray(Image.open(held.masks_dir / f"{i}.png")) for i in ids])
    fg = truth > 0
    ious = []
    for k in range(len(classes)):
        union = ((pred == k) | (truth == k)).sum()
        if union:
            ious.append(float(((pred == k) & (truth == k)).sum() / union))
    return float((pred == truth).mean()), float((pred[fg] == truth[fg]).mean()), ious


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--num", type=int, default=500)
    parser.add_argument("--epochs", type=float, default=10)
    parser.add_argument("--steps-per-image", type=int, default=64)
    parser.add_argument("--min-epochs", type=float, default=3.0, help="interpreter: no early stop before (paper: 3)")
    parser.add_argument("--annotated", type=int, default=16, help="samples annotated by script (the issue: 10-30)")
    parser.add_argument("--drop-uncertain", type=float, default=0.1, help="generate: most uncertain share dropped")
    parser.add_argument("--labels", choices=["digit", "foreground"], default="digit")
    parser.add_argument("--real-digits", type=Path, default=Path("/work/exp/digits_test"),
                        help="real held-out digits as CLASS/*.png, for `datasetgan evaluate`")
    parser.add_argument("--eval-epochs", type=float, default=10, help="U-Net passes over the generated pairs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = resolve_device("cpu")
    out, holdout = args.work / "out", args.work / "holdout"
    sample_for_annotation(args.run, out, SampleOptions(num=args.annotated, seed=0, device="cpu"), device=device)
    sample_for_annotation(args.run, holdout, SampleOptions(num=16, seed=5000, device="cpu"), device=device)
    classes = DIGITS if args.labels == "digit" else FOREGROUND
    annotate(out, classes)
    annotate(holdout, classes)
    config = DatasetGANConfig(num=args.num, epochs=args.epochs, steps_per_image=args.steps_per_image, device="cpu",
                              precision="fp32", batch=16, drop_uncertain=args.drop_uncertain, min_epochs=min(args.min_epochs, args.epochs))
    start = time.perf_counter()
    result = run_operator(DATASETGAN, (), out, config, progress_bar=False)
    seconds = time.perf_counter() - start
    accuracy, foreground, ious = held_out_scores(out, holdout, classes)
    print(f"interpreter: {result.done:.2f} epochs, {result.images_written} pairs written, {seconds:.0f} s "
          "(train + generate, shared CPU)")
    print(f"held-out pixel accuracy {accuracy:.4f}, on digit strokes {foreground:.4f}, "
          f"mIoU {np.mean(ious):.4f} over {len(ious)} classes")
    print("per-class IoU:", " ".join(f"{v:.2f}" for v in ious))
    real = real_test_set(args.real_digits, args.work / "real_test", classes)
    start = time.perf_counter()
    report = evaluate_segmentation(out, SegmentationEvalConfig(real_test=str(real), epochs=args.eval_epochs,
                                                               device="cpu"))
    print(f"datasetgan evaluate on {report['test']['images']} real digits ({time.perf_counter() - start:.0f} s, "
          "shared CPU):")
    for line in format_report(report):
        print(line)


if __name__ == "__main__":
    main()
