"""Class-confidence filtering of generated images (issue 22; GaFi, Lampis et al. 2023).

A small classifier (metrics/classifier.py) is trained on the real training images, never on a test split. A
generated image is kept when the classifier gives the class it was generated for a probability of at least
`min_confidence`: off-class and unreadable samples, which teach a downstream classifier the wrong class, are
left out. `generate --min-class-confidence` draws the next seed in a dropped image's place (as the memorisation
gate does); `utility --min-class-confidence` reports the accuracy with and without the filter.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from ganfactory.data.dataset import load_image_folder
from ganfactory.errors import InputError
from ganfactory.metrics.classifier import train_classifier

# The side the classifier sees: enough for class identity on small data, seconds to train on a CPU.
CLASSIFIER_RESOLUTION = 32
MIN_STEPS = 120


@dataclass(frozen=True)
class ConfidenceRecord:
    """One generated image against the real-data classifier: what goes into its manifest line, and the verdict."""

    probability: float  # the classifier's probability of the intended class
    predicted: str  # the class it finds most likely
    kept: bool

    def as_dict(self) -> dict[str, Any]:
        return {"probability": round(self.probability, 6), "predicted": self.predicted}


def as_classifier_input(images: torch.Tensor, *, resolution: int = CLASSIFIER_RESOLUTION) -> torch.Tensor:
    """uint8 [N, C, H, W] (C 1 or 3) -> float [N, 3, r, r] in [-1, 1], resized with area averaging."""
    x = images.float().div(127.5).sub(1.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (resolution, resolution):
        x = F.interpolate(x, size=(resolution, resolution), mode="area" if x.shape[-1] > resolution else "bilinear")
    return x


class ClassConfidenceFilter:
    """Scores generated images with a classifier of the real training images; keeps p(intended) >= min_confidence."""

    def __init__(self, *, model: torch.nn.Module, class_names: list[str], min_confidence: float,
                 identity: dict[str, Any], resolution: int = CLASSIFIER_RESOLUTION) -> None:
        self.model, self.class_names, self.min_confidence = model.eval(), list(class_names), min_confidence
        self.identity, self.resolution = identity, resolution
        self.checked = 0
        self.dropped = 0

    @classmethod
    def train(cls, images: torch.Tensor, labels: torch.Tensor, *, class_names: list[str], min_confidence: float,
              epochs: int = 15, seed: int = 0) -> ClassConfidenceFilter:
        """Train on uint8 images [N, C, H, W] with labels indexing class_names (the real training split)."""
        if len(class_names) < 2:
            raise InputError("--min-class-confidence needs a class-conditional model and training images in two or "
                             "more class folders; leave it out for a single class.")
        x = as_classifier_input(images)
        batch = int(min(64, max(8, len(x) // 8)))  # a few dozen images still get ~8 steps an epoch
        # A few dozen images give a few steps an epoch: train for MIN_STEPS at least, or the classifier is unsure
        # of every image (on 18 images, 24 steps left one class below 0.9 everywhere; the filter kept nothing of it).
        epochs = max(epochs, math.ceil(MIN_STEPS / math.ceil(len(x) / batch)))
        model = train_classifier(x, labels, num_classes=len(class_names), epochs=epochs, seed=seed, batch_size=batch)
        digest = hashlib.sha256(images.contiguous().numpy().tobytes() + labels.numpy().tobytes()).hexdigest()
        identity = {"min_class_confidence": min_confidence, "training_sha256": digest, "epochs": epochs, "seed": seed,
                    "classes": list(class_names)}
        return cls(model=model, class_names=class_names, min_confidence=min_confidence, identity=identity)

    @classmethod
    def build(cls, *, root: Path, classes: dict[str, list[Path]], min_confidence: float) -> ClassConfidenceFilter:
        """From the training images of `classes` (class name -> files) under `root`. Raises InputError."""
        data = load_image_folder(Path(root), files=classes, resolution=CLASSIFIER_RESOLUTION, channels=3, mode="crop")
        return cls.train(data.images, data.labels, class_names=data.class_names, min_confidence=min_confidence)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities [N, classes] for uint8 images [N, C, H, W]."""
        if len(images) == 0:
            return torch.empty(0, len(self.class_names))
        return self.model(as_classifier_input(images, resolution=self.resolution)).softmax(dim=1)

    def check(self, images: torch.Tensor, class_name: str) -> list[ConfidenceRecord]:
        """Verdicts for uint8 images [B, C, H, W] all generated for `class_name`, in order; counts the dropped."""
        if class_name not in self.class_names:
            raise InputError(f"The model's class '{class_name}' is not among the training images' classes "
                             f"({', '.join(self.class_names)}); pass --training-data with the same class folders.")
        probabilities = self.probabilities(images)
        target = self.class_names.index(class_name)
        records = [ConfidenceRecord(probability=float(p[target]), predicted=self.class_names[int(p.argmax())],
                                    kept=float(p[target]) >= self.min_confidence) for p in probabilities]
        self.checked += len(records)
        self.dropped += sum(not record.kept for record in records)
        return records
