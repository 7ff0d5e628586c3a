"""`datasetgan evaluate OUT --real-test DIR`: DatasetGAN's downstream check (Zhang et al. 2021, Table 1).

A small U-Net is trained on (a) the annotated images only, (b) the generated pairs only (the paper's
comparison) and, unless --no-combined, (b+a) both; each is scored on DIR's real annotated images with
per-class IoU, mIoU and pixel accuracy. Every model trains for the same number of steps, --epochs passes over
the largest training set, so (a) is not short of updates; random horizontal flips augment the training pairs.
Writes OUT/evaluation/segmentation.json after each model; a rerun keeps the models already scored on the same
pairs and settings. The same seed gives the same figures (on the same device).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganfactory.engine.precision import resolve_device
from ganfactory.engine.signals import StopRequest
from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.classes import SegmentationClass, read_classes
from ganfactory.operators.datasetgan.config import SegmentationEvalConfig
from ganfactory.operators.datasetgan.iou import confusion_matrix, scores_from_confusion
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.overlap import refuse_test_overlap
from ganfactory.operators.datasetgan.pairsets import (
    PairSet,
    annotated_pairs,
    annotated_side,
    generated_pairs,
    real_test_pairs,
)
from ganfactory.operators.datasetgan.unet import UNet
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.writable import require_writable_output

log = logging.getLogger(__name__)

ANNOTATED, GENERATED, COMBINED = "annotated", "generated", "generated+annotated"


def _batches(count: int, *, batch: int, steps: int, generator: torch.Generator):
    """Index batches of epochs of random permutations (a batch may span two epochs), `steps` of them."""
    stream = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while stream.numel() < batch:
            stream = torch.cat([stream, torch.randperm(count, generator=generator)])
        yield stream[:batch]
        stream = stream[batch:]


def _as_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return images.to(device).float() / 127.5 - 1.0  # uint8 [0, 255] -> [-1, 1]


def train_unet(pairs: PairSet, *, num_classes: int, steps: int, config: SegmentationEvalConfig,
               device: torch.device, stop: StopRequest | None = None) -> UNet:
    """A U-Net trained for `steps` Adam steps of cross-entropy on `pairs`; seeded by config.seed.
    Raises RunInterrupted (exit 75) after the step in hand once `stop` is set."""
    torch.manual_seed(config.seed)  # the same initial weights for every model of one evaluation
    generator = torch.Generator().manual_seed(config.seed)
    model = UNet(in_channels=3, num_classes=num_classes, levels=config.levels, width=config.width).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    for step, index in enumerate(_batches(len(pairs), batch=config.batch, steps=steps, generator=generator)):
        if stop is not None:
            stop.raise_if_set("scoring the models listed in the evaluation report (the one in training is "
                              "trained again)")
        x, y = _as_input(pairs.images[index], device), pairs.masks[index].to(device).long()
        if config.flip:
            flip = (torch.rand(len(index), generator=generator) < 0.5).to(device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            y = torch.where(flip[:, None, None], y.flip(-1), y)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % max(1, steps // 5) == 0:
            log.info("U-Net step %d/%d: loss %.4f", step + 1, steps, loss.item())
    return model.eval()


@torch.no_grad()
def predict(model: UNet, images: torch.Tensor, *, device: torch.device, batch: int = 16) -> torch.Tensor:
    """uint8 [N, S, S] class indices (argmax of the logits) of uint8 images [N, 3, S, S]."""
    out = [model(_as_input(images[i:i + batch], device)).argmax(1).to("cpu", torch.uint8)
           for i in range(0, len(images), batch)]
    return torch.cat(out)


def _score(model: UNet, test: PairSet, *, class_names: list[str], device: torch.device) -> dict[str, Any]:
    pred = predict(model, test.images, device=device)
    matrix = confusion_matrix(pred.numpy(), test.masks.numpy(), num_classes=len(class_names))
    return scores_from_confusion(matrix, class_names=class_names).to_json()


def _training_sets(out: Path, config: SegmentationEvalConfig, *, classes: list[SegmentationClass],
                   size: int) -> dict[str, PairSet]:
    # The generated pairs first: without them there is nothing to compare, so fail before any work.
    generated = generated_pairs(out, classes=classes, size=size)
    annotated = annotated_pairs(out, classes=classes, size=size)
    sets = {ANNOTATED: annotated, GENERATED: generated}
    if config.combined:
        sets[COMBINED] = generated + annotated
    return sets


def _side(out: Path, config: SegmentationEvalConfig) -> int:
    """The side every image is scaled to, after checking the options; InputError for what cannot work."""
    if not config.real_test:
        raise InputError("Give --real-test DIR: a folder of real test images (DIR/images) and masks (DIR/masks).")
    size = config.size or annotated_side(out)
    divisor = 2 ** (config.levels - 1)
    if size % divisor:
        raise InputError(f"The images are evaluated at {size}x{size}, but a U-Net of {config.levels} levels needs "
                         f"a side divisible by {divisor}; pass --size {max(divisor, size // divisor * divisor)} "
                         "or fewer --levels.")
    return size


def _fingerprint(pairs: PairSet, test: PairSet, *, steps: int, config: SegmentationEvalConfig) -> str:
    """What one model's scores depend on: its training pairs, the test pairs, the settings and the step count."""
    digest = hashlib.sha256(json.dumps({**config.to_json_dict(), "steps": steps}, sort_keys=True).encode())
    for tensor in (pairs.images, pairs.masks, test.images, test.masks):
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _scored_before(path: Path) -> dict[str, Any]:
    """The models of an earlier (maybe stopped) evaluation, to keep those whose fingerprint still matches."""
    try:
        models = json.loads(path.read_text(encoding="utf-8")).get("models", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return models if isinstance(models, dict) else {}


def evaluate_segmentation(out: Path, config: SegmentationEvalConfig, *,
                          stop: StopRequest | None = None) -> dict[str, Any]:
    """Train and score the U-Nets; returns (and writes to OUT/evaluation/segmentation.json) the report:
    {"classes", "test", "settings", "complete", "models": {name: {iou, absent_classes, miou, pixel_accuracy,
    train_size, steps, epochs, fingerprint}}}. The report is rewritten after each model, so a stopped evaluation
    resumes: a model scored before on the very same pairs and settings (its fingerprint) is kept, not retrained.
    SIGTERM or Ctrl-C (or `stop`) ends it after the U-Net step in hand with RunInterrupted (exit 75).
    Raises InputError for a missing or inconsistent input, or a test image that is also an annotated training
    image (overlap.py; nothing is written then)."""
    out = Path(out)
    require_writable_output(evaluation_path(out).parent)  # before any U-Net is trained
    size = _side(out, config)
    classes = read_classes(annotation_folder(out).classes_path)
    test = real_test_pairs(Path(config.real_test), classes=classes, size=size)
    sets = _training_sets(out, config, classes=classes, size=size)
    refuse_test_overlap(annotation_folder(out), sets[ANNOTATED], Path(config.real_test), test)
    steps = max(1, math.ceil(config.epochs * max(len(s) for s in sets.values()) / config.batch))
    device, path = resolve_device(config.device), evaluation_path(out)
    before = _scored_before(path)
    with stop or StopRequest() as stopping:
        return _train_and_score(config, sets=sets, test=test, steps=steps, device=device, path=path,
                                before=before, size=size, classes=classes, stop=stopping)


def _train_and_score(config: SegmentationEvalConfig, *, sets: dict[str, PairSet], test: PairSet,
                     steps: int, device: torch.device, path: Path, before: dict[str, Any], size: int,
                     classes: list[SegmentationClass], stop: StopRequest) -> dict[str, Any]:
    test_record = {"folder": str(Path(config.real_test).resolve()), "images": len(test), "size": size}
    report: dict[str, Any] = {"classes": [c.name for c in classes], "models": {}, "settings": config.to_json_dict(),
                              "complete": False, "test": test_record}
    for name, pairs in sets.items():
        key = _fingerprint(pairs, test, steps=steps, config=config)
        if isinstance(before.get(name), dict) and before[name].get("fingerprint") == key:
            log.info("Kept the %s model's scores of an earlier run (same pairs and settings).", name)
            report["models"][name] = before[name]
            continue
        log.info("Training a U-Net on the %s pairs (%d images, %d steps).", name, len(pairs), steps)
        model = train_unet(pairs, num_classes=len(classes), steps=steps, config=config, device=device, stop=stop)
        report["models"][name] = {**_score(model, test, class_names=report["classes"], device=device),
                                  "train_size": len(pairs), "steps": steps, "fingerprint": key,
                                  "epochs": round(steps * config.batch / len(pairs), 3)}
        atomic_write_json(path, report)
    report["complete"] = True
    atomic_write_json(path, report)
    return report


def evaluation_path(out: Path) -> Path:
    return Path(out) / "evaluation" / "segmentation.json"


def format_report(report: dict[str, Any]) -> list[str]:
    """A small table for the console: one row per model, then the per-class IoU ('-' for an absent class)."""
    models = report["models"]
    lines = [f"{'model':<20} {'pairs':>6} {'steps':>6} {'mIoU':>7} {'pixel acc':>9}"]
    lines += [f"{name:<20} {m['train_size']:>6} {m['steps']:>6} {m['miou']:>7.4f} {m['pixel_accuracy']:>9.4f}"
              for name, m in models.items()]
    lines.append("IoU per class: " + " ".join(f"{name:>20}" for name in models))
    for cls in report["classes"]:
        cells = [f"{m['iou'][cls]:>20.4f}" if cls in m["iou"] else f"{'-':>20}" for m in models.values()]
        lines.append(f"  {cls:<13}" + " ".join(cells))
    absent = sorted({c for m in models.values() for c in m["absent_classes"]})
    if absent:
        lines.append(f"Absent from a model's predictions and the test truth (not in its mean): {', '.join(absent)}")
    return lines
