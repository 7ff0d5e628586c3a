"""The collapse watch: three signs, read on a fixed grid of samples, that a generator has stopped drawing the data.

1. A class has collapsed: its samples are far less varied than the real images of the class (relative
   diversity below COLLAPSE_THRESHOLD, see ganfactory.metrics.diversity).
2. The classes produce the same image: one latent drawn in every class gives images that are nearly
   identical. On real digits (issue 22) a run at 10 kimg drew the same "0" for a seed in all ten classes
   while each class was as varied as the real data, so check 1 read 0.95 and said nothing.
3. The samples sit in a tight cluster: all samples, whatever the class, lie close to one another compared
   with the spread of the real images (pooled over classes).

Measures are pixel RMS distances (as in diversity.py): no pretrained network, milliseconds a tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ganfactory.metrics.diversity import COLLAPSE_THRESHOLD, _as_float, pairwise_diversity

# Same latent, two classes: the distance between the two images divided by the mean distance between two
# latents of one class. An untrained generator reads about 1 (the class moves the image as much as a latent
# does) and a trained one above 1 (real digits: a pair of classes is 1.7 times as far apart as a pair within a
# class); a generator that ignores the class reads 0. Below this the classes draw nearly the same image.
CLASSES_ALIKE_THRESHOLD = 0.5
# All samples pooled, fake diversity / real diversity. A generator that draws one image with small changes
# whatever the class reads far below 1 (the issue-22 run at 4 kimg: one stroke everywhere, about 0.3).
SPREAD_THRESHOLD = 0.4


@dataclass(frozen=True)
class RealSpread:
    """The real images' figures the watch compares with: per-class and pooled mean pairwise distance."""

    per_class: dict[int, float]
    pooled: float

    @classmethod
    def of(cls, images: Tensor, labels: Tensor | None, *, num_classes: int) -> RealSpread:
        """images [N, C, H, W] (uint8 or [-1, 1] float), labels int [N] or None (unconditional). Up to 128
        images a class and 512 pooled keep the Gram matrices small; the mean pairwise distance settles fast."""
        if labels is None or num_classes == 0:
            per_class = {0: pairwise_diversity(images[:512])}
        else:
            per_class = {k: pairwise_diversity(images[labels == k][:128]) for k in range(num_classes)}
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        pooled = pairwise_diversity(images[order[:512]])
        return cls(per_class={k: v for k, v in per_class.items() if not math.isnan(v) and v > 0}, pooled=pooled)


@dataclass(frozen=True)
class CollapseReading:
    diversity: dict[int, float]  # per class: fake diversity / real diversity (1 = as varied as the real data)
    classes_alike: float  # same latent across classes / across latents within a class; NaN with < 2 classes
    spread: float  # all samples pooled: fake diversity / real diversity; NaN for an unconditional model

    def health(self) -> dict[str, float]:
        values = [v for v in self.diversity.values() if not math.isnan(v)]
        mean, worst = (sum(values) / len(values), min(values)) if values else (float("nan"), float("nan"))
        health = {"diversity/mean": mean, "diversity/min": worst}
        if not math.isnan(self.classes_alike):
            health["diversity/classes"] = self.classes_alike
        if not math.isnan(self.spread):
            health["diversity/spread"] = self.spread
        return health

    def findings(self, class_names: list[str]) -> dict[str, str]:
        """{kind: sentence} for each sign present: "class", "classes_alike", "cluster"."""
        found: dict[str, str] = {}
        values = {k: v for k, v in self.diversity.items() if not math.isnan(v)}
        if values and min(values.values()) < COLLAPSE_THRESHOLD:
            worst = min(values, key=lambda k: values[k])
            name = class_names[worst] if len(class_names) > 1 else "all"
            found["class"] = (f"Possible mode collapse: generated samples are {values[worst]:.2f} as varied as the "
                              f"real images (worst class {name}; healthy runs stay near 1). Try --gamma higher or "
                              f"more images.")
        if self.classes_alike < CLASSES_ALIKE_THRESHOLD:
            found["classes_alike"] = (
                f"Classes produce the same image: one latent drawn in different classes gives images "
                f"{self.classes_alike:.2f} as far apart as two latents of one class (0 = identical; a "
                f"class-aware generator reads 1 or more). The class is being ignored; train longer or check "
                f"that the class folders differ.")
        if self.spread < SPREAD_THRESHOLD:
            found["cluster"] = (f"Samples sit in a tight cluster: all generated samples are {self.spread:.2f} as "
                                f"varied as the real images pooled over classes (healthy runs stay near 1).")
        return found


def classes_alike(grid: Tensor) -> float:
    """grid [K, S, C, H, W]: S latents drawn in each of K classes, latent s the same in every class.

    Mean distance between the images of one latent in two classes, over the mean distance between two latents
    of one class. NaN with fewer than two classes or latents, or when every class draws one image."""
    classes, latents = grid.shape[:2]
    if classes < 2 or latents < 2:
        return float("nan")
    x = _as_float(grid.flatten(0, 1)).view(classes, latents, -1)
    pairs = torch.triu_indices(classes, classes, offset=1)
    across = (x[pairs[0]] - x[pairs[1]]).square().mean(dim=2).sqrt().mean()  # [pairs, S] -> mean
    within = sum(pairwise_diversity(x[k]) for k in range(classes)) / classes
    return float(across / within) if within > 0 else float("nan")


def read_collapse(grid: Tensor, real: RealSpread) -> CollapseReading:
    """grid [K, S, C, H, W] as for `classes_alike` (K = 1 for an unconditional model)."""
    diversity = {k: pairwise_diversity(grid[k]) / real.per_class[k] for k in range(len(grid)) if k in real.per_class}
    conditional = len(grid) > 1
    spread = pairwise_diversity(grid.flatten(0, 1)) / real.pooled if conditional and real.pooled > 0 else float("nan")
    return CollapseReading(diversity=diversity, classes_alike=classes_alike(grid), spread=spread)


@dataclass
class CollapseWatch:
    """Reads the grid each tick; raises a sentence when a sign appears (not again while it lasts)."""

    real: RealSpread
    class_names: list[str]
    active: set[str] = field(default_factory=set)

    def observe(self, grid: Tensor, *, where: str) -> tuple[dict[str, float], list[str]]:
        """(health indicators, new alert sentences) for this grid; `where` reads e.g. "at 4.0 kimg"."""
        reading = read_collapse(grid, self.real)
        found = reading.findings(self.class_names)
        alerts = [f"{sentence[:-1]} ({where})." for kind, sentence in found.items() if kind not in self.active]
        self.active = set(found)
        return reading.health(), alerts
