"""The work behind `ganfactory utility`: does generated data help a classifier? (Ravuri & Vinyals 2019, CAS)

The same small classifier (metrics/classifier.py) is trained on (a) the real training images, (b) the
generated images only and (c) both, and each is tested on the same real held-out images; the accuracies
are the mean and standard deviation over a few seeds. With a class-confidence threshold (metrics/confidence.py)
the generated images a classifier of the real training images finds off-class are left out, and the two
conditions with generated images are reported again, filtered, beside the unfiltered ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.data.dataset import ImageFolderData, load_image_folder
from ganfactory.data.discovery import match_class_names
from ganfactory.data.split import require_disjoint_split, resolve_split
from ganfactory.errors import InputError
from ganfactory.metrics.classifier import classification_accuracy_score
from ganfactory.metrics.confidence import ClassConfidenceFilter
from ganfactory.metrics.sources import open_source

log = logging.getLogger(__name__)

CONDITIONS = ("real", "generated", "real+generated")
FILTERED = ("generated, filtered", "real+generated, filtered")


@dataclass(frozen=True)
class LabelledImages:
    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor  # int64 [N], indices into the real training classes


def stratified_split(labels: np.ndarray, *, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): each class split alone, deterministic for a seed.

    Every class with two or more images gives at least one image to each side. Raises InputError for a
    fraction outside (0, 1).
    """
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"--test-fraction {test_fraction} is not between 0 and 1; use e.g. 0.2.")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        take = int(round(test_fraction * len(members)))
        take = min(max(take, 1), len(members) - 1) if len(members) >= 2 else 0
        test += members[:take].tolist()
        train += members[take:].tolist()
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def _relabel(data: ImageFolderData, class_names: list[str], what: str) -> LabelledImages:
    """Labels re-indexed into the training classes ('Cats' is 'cats' when only the case differs); a class the
    training data lacks is an error."""
    data.class_names = [match_class_names(data.class_names, class_names)[name] for name in data.class_names]
    unknown = [name for name in data.class_names if name not in class_names]
    if unknown:
        raise InputError(f"{what} has the class '{unknown[0]}', which the real training data lacks; use the same "
                         f"class folder names ({', '.join(class_names)}).")
    mapping = torch.tensor([class_names.index(name) for name in data.class_names])
    return LabelledImages(images=data.images, labels=mapping[data.labels])


def load_sets(train: Path, test: Path | None, generated: Path, *, test_fraction: float | None,
              resolution: int) -> tuple[LabelledImages, LabelledImages, LabelledImages, list[str]]:
    """(real train, real test, generated, class names) at resolution x resolution RGB, centre-cropped.

    A DATA_TRAIN holding train/ and test/ (data/split.py) without DATA_TEST or test_fraction is its own split:
    train/ trains, test/ tests, and a test image that is also a training image is an InputError.
    """
    split = resolve_split(Path(train))
    if test is None and test_fraction is None and split.is_split:
        require_disjoint_split(split)
        train, test = split.train, split.test
    real = load_image_folder(Path(train), resolution=resolution, channels=3, mode="crop")
    names = real.class_names
    if len(names) < 2:
        raise InputError(f"{train} holds one class ({names[0]}), and a classifier of one class is always right, so "
                         "the Classification Accuracy Score needs at least two classes; give DATA_TRAIN with one "
                         "subfolder per class.")
    if test is None:
        if test_fraction is None:
            raise InputError("Give a held-out folder DATA_TEST, or --test-fraction to split DATA_TRAIN (or put "
                             "DATA_TRAIN's images in DATA/train/ and DATA/test/).")
        train_rows, test_rows = stratified_split(real.labels.numpy(), test_fraction=test_fraction)
        train_set = LabelledImages(real.images[train_rows], real.labels[train_rows])
        test_set = LabelledImages(real.images[test_rows], real.labels[test_rows])
    else:
        train_set = LabelledImages(real.images, real.labels)
        test_data = load_image_folder(Path(test), resolution=resolution, channels=3, mode="crop")
        test_set = _relabel(test_data, names, f"the test folder {test}")
    source = open_source(Path(generated))
    gen_data = load_image_folder(source.root, files=source.classes, resolution=resolution, channels=3, mode="crop")
    if len(names) == 1 and len(gen_data.class_names) == 1:  # single-level folders are named after themselves
        gen_data.class_names = names
    return train_set, test_set, _relabel(gen_data, names, f"the generated images {generated}"), names


def run_utility(train: Path, test: Path | None, generated: Path, *, test_fraction: float | None = None,
                seeds: int = 3, epochs: int = 15, resolution: int = 32,
                min_class_confidence: float | None = None) -> dict[str, Any]:
    """Accuracy on the real test set of classifiers trained on each condition, mean and spread over seeds.

    min_class_confidence: also the generated conditions with only the generated images whose class a classifier
    of the real training images (never the test images) gives at least this probability."""
    train_set, test_set, gen_set, names = load_sets(train, test, generated, test_fraction=test_fraction,
                                                    resolution=resolution)
    if len(test_set.images) == 0:
        raise InputError("The held-out set is empty; give a larger DATA_TEST or --test-fraction.")
    sets = {"real": train_set, "generated": gen_set, "real+generated": _joined(train_set, gen_set)}
    extra: dict[str, Any] = {}
    if min_class_confidence is not None:
        kept, extra["confidence_filter"] = _confident(train_set, gen_set, names, min_class_confidence, epochs)
        sets.update({FILTERED[0]: kept, FILTERED[1]: _joined(train_set, kept)})
    results: dict[str, Any] = {}
    for condition, data in sets.items():
        if len(data.images) == 0:
            log.warning("utility %s: no images left to train on; skipped.", condition)
            continue
        # At least ~8 steps per epoch: sets of a few dozen images learn nothing in one full batch per epoch.
        batch = int(np.clip(len(data.images) // 8, 8, 64))
        runs = [classification_accuracy_score(data.images, data.labels, test_set.images, test_set.labels,
                                              class_names=names, epochs=epochs, seed=seed, batch_size=batch)
                for seed in range(seeds)]
        accuracies = np.array([run.accuracy for run in runs])
        results[condition] = {"mean": float(accuracies.mean()), "std": float(accuracies.std(ddof=1)) if seeds > 1
                              else 0.0, "per_seed": accuracies.tolist(), "n_train": int(len(data.images))}
        log.info("utility %s: %.3f", condition, accuracies.mean())
    return {"conditions": results, "n_test": int(len(test_set.images)), "classes": names, "seeds": seeds,
            "epochs": epochs, "resolution": resolution, **extra}


def _joined(a: LabelledImages, b: LabelledImages) -> LabelledImages:
    return LabelledImages(torch.cat([a.images, b.images]), torch.cat([a.labels, b.labels]))


def _confident(train_set: LabelledImages, gen_set: LabelledImages, names: list[str], min_confidence: float,
               epochs: int) -> tuple[LabelledImages, dict[str, Any]]:
    """The generated images whose intended class a classifier of the real training split gives >= min_confidence,
    and what was kept per class."""
    classifier = ClassConfidenceFilter.train(train_set.images, train_set.labels, class_names=names,
                                             min_confidence=min_confidence, epochs=epochs)
    probability = classifier.probabilities(gen_set.images)
    rows = torch.arange(len(gen_set.labels))
    intended = probability[rows, gen_set.labels] if len(gen_set.labels) else probability[:0, 0]
    keep = intended >= min_confidence
    per_class = {name: [int(keep[gen_set.labels == k].sum()), int((gen_set.labels == k).sum())]
                 for k, name in enumerate(names)}
    summary = {"min_class_confidence": min_confidence, "kept": int(keep.sum()), "of": int(len(keep)),
               "per_class_kept": per_class,
               "mean_confidence": float(intended.mean()) if len(intended) else float("nan")}
    return LabelledImages(gen_set.images[keep], gen_set.labels[keep]), summary


def utility_lines(result: dict[str, Any]) -> list[str]:
    """The console table: the accuracies side by side (three, or five with the confidence filter)."""
    width = max(16, *(len(name) for name in result["conditions"]))
    header = f"{'trained on':<{width}} {'n_train':>7}  accuracy on {result['n_test']} real held-out images"
    rows = [f"{name:<{width}} {c['n_train']:>7}  {c['mean']:.3f} ± {c['std']:.3f}  (seeds: "
            + ", ".join(f"{a:.3f}" for a in c["per_seed"]) + ")" for name, c in result["conditions"].items()]
    lines = [header, *rows, f"mean ± standard deviation over {result['seeds']} seeds; classifier at "
                            f"{result['resolution']} px, {result['epochs']} epochs."]
    if "confidence_filter" in result:
        kept = result["confidence_filter"]
        lines.append(f"filtered: {kept['kept']} of {kept['of']} generated images kept, those whose class a classifier "
                     f"of the real training images gives >= {kept['min_class_confidence']:g} (mean probability of "
                     f"the intended class {kept['mean_confidence']:.3f}).")
    return lines
