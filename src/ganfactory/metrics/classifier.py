"""A small image classifier for the Classification Accuracy Score and for class checks of generated images.

Classification Accuracy Score (Ravuri & Vinyals 2019, *Classification Accuracy Score for Conditional Generative
Models*): train a classifier on generated images and test it on real held-out images. The same classifier
trained on real images also tells whether a generated image shows the class it was generated for.

The network is deliberately small (three conv stages, global average pooling) so that it trains in seconds on
a CPU at 32 px: the figure that matters is the comparison of training sets, not the classifier's own best.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ClassifierScore:
    """Accuracy of a classifier on a labelled set.

    accuracy: fraction of correct predictions over all images, in [0, 1].
    per_class: fraction correct among the images of each class, keyed by class name (NaN for an absent class).
    count: number of images scored.
    """

    accuracy: float
    per_class: dict[str, float]
    count: int


def build_classifier(*, channels: int, num_classes: int, width: int = 32) -> nn.Module:
    """A conv net mapping float images [N, channels, H, W] in [-1, 1] to logits [N, num_classes].

    Any H, W >= 8 work (global average pooling at the end). `width` is the first stage's channel count.
    """
    def stage(cin: int, cout: int) -> list[nn.Module]:
        # BatchNorm makes the few epochs we can afford on a CPU enough to converge.
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)]

    return nn.Sequential(
        *stage(channels, width), *stage(width, 2 * width), *stage(2 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * width, num_classes),
    )


def _as_float(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:
        return images.float().div(127.5).sub(1.0)
    return images.float()


def _random_shift(batch: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels (replicate-padded): the usual small-data augmentation.

    Flips are left out on purpose: they change the meaning of digits, letters and many other classes.
    """
    if max_shift <= 0:
        return batch
    n, _, h, w = batch.shape
    padded = F.pad(batch, (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets.tolist())])


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int,
    epochs: int = 15,
    batch_size: int = 64,
    lr: float = 2e-3,
    max_shift: int = 2,
    seed: int = 0,
    width: int = 32,
) -> nn.Module:
    """Train `build_classifier` on images (uint8 [N, C, H, W] in [0, 255] or float in [-1, 1]) and labels (int [N]).

    Adam with a cosine learning-rate decay over `epochs`; deterministic for a given seed on the CPU.
    Returns the model in eval mode. Raises ValueError for an empty set or mismatched lengths.
    """
    if len(images) == 0 or len(images) != len(labels):
        raise ValueError(f"need as many labels as images (got {len(images)} images, {len(labels)} labels), at "
                         "least one.")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = build_classifier(channels=int(images.shape[1]), num_classes=num_classes, width=width)
    steps_per_epoch = max(1, -(-len(images) // batch_size))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    data, targets = _as_float(images), labels.long()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        for start in range(0, len(data), batch_size):
            index = order[start:start + batch_size]
            if len(index) < 2:  # BatchNorm needs two samples
                continue
            loss = F.cross_entropy(model(_random_shift(data[index], max_shift, generator)), targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def predict_classes(model: nn.Module, images: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Predicted class indices (int64 [N]) for images (uint8 or float [N, C, H, W])."""
    model.eval()
    outputs = [model(_as_float(images[i:i + batch_size])).argmax(1) for i in range(0, len(images), batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0, dtype=torch.int64)


def score_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     class_names: list[str]) -> ClassifierScore:
    """Overall and per-class accuracy of `model` on labelled images (labels index class_names)."""
    correct = predict_classes(model, images) == labels.long()
    per_class = {}
    for index, name in enumerate(class_names):
        members = labels == index
        per_class[name] = float(correct[members].float().mean()) if bool(members.any()) else float("nan")
    return ClassifierScore(accuracy=float(correct.float().mean()) if len(correct) else float("nan"),
                           per_class=per_class, count=int(len(correct)))


def classification_accuracy_score(
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    class_names: list[str],
    epochs: int = 15,
    seed: int = 0,
    batch_size: int = 64,
) -> ClassifierScore:
    """Train on (train_images, train_labels), score on the real held-out (test_images, test_labels).

    With generated training images this is the Classification Accuracy Score of Ravuri & Vinyals 2019;
    with real ones it is the baseline it is compared against. A smaller batch_size gives more steps per
    epoch, which sets of a few dozen images need (BatchNorm's running statistics settle only after some steps).
    """
    model = train_classifier(train_images, train_labels, num_classes=len(class_names), epochs=epochs, seed=seed,
                             batch_size=batch_size)
    return score_classifier(model, test_images, test_labels, class_names)
