"""Sample diversity: a mode-collapse indicator that compares generated images with real ones.

The measure is the mean pairwise root-mean-square pixel distance inside a set of images,

    D(X) = mean over pairs i < j of sqrt(mean over pixels of (x_i - x_j)^2),

computed per class and divided by the same figure on real images of that class. A generator whose
samples of a class are as different from one another as the real images of the class scores about 1;
a collapsed generator (one image whatever z) scores 0. It needs no pretrained network, so it runs on
every tick of every run in milliseconds, and it reads the same at any resolution and channel count.
It says nothing about realism (noise scores high): pair it with a classifier or FID for that.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# Below this (fake / real, worst class) the samples of a class are far less varied than the real images: a
# collapsing generator. A healthy run stays well above it from the first tick (an untrained G scores > 1). On
# real digits a generator whose rows of the progress grid showed one digit repeated scored 0.41-0.46 in its
# worst class (mean ~0.5): small shifts between near-copies keep the pixel measure from reaching 0 (issue 14).
COLLAPSE_THRESHOLD = 0.4


def _as_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] or float [-1, 1] images -> float32 in [-1, 1], flattened to [N, pixels]."""
    x = images.detach().float()
    if images.dtype == torch.uint8:
        x = x / 127.5 - 1
    return x.flatten(1)


def pairwise_diversity(images: Tensor) -> float:
    """Mean pairwise RMS pixel distance of images [N, C, H, W] (uint8 in [0, 255] or float in [-1, 1]).

    Returns a float in the float images' units (0 for identical images; 2 is the largest possible in
    [-1, 1]). Returns NaN for fewer than two images.
    """
    if len(images) < 2:
        return float("nan")
    x = _as_float(images)
    # Squared distances from one Gram matrix: [N, N], no [N, N, pixels] tensor.
    sq = x.square().sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2 * x @ x.t()).clamp_min(0) / x.shape[1]
    n = len(x)
    upper = torch.triu_indices(n, n, offset=1)
    return float(d2[upper[0], upper[1]].sqrt().mean())


def relative_diversity(
    fake: Tensor,
    fake_labels: Tensor | None,
    real: Tensor,
    real_labels: Tensor | None,
    *,
    num_classes: int,
) -> dict[int, float]:
    """Per-class diversity of `fake` divided by that of `real` (1 = as varied as the real images).

    fake, real: images [N, C, H, W] (uint8 or float, see `pairwise_diversity`); the labels are int [N]
    class indices, or None for an unconditional model (then everything is class 0 and num_classes is
    ignored). Returns {class index: ratio}; NaN for a class with fewer than two images on either side
    or whose real images are all identical.
    """
    if fake_labels is None or real_labels is None:
        return {0: _ratio(pairwise_diversity(fake), pairwise_diversity(real))}
    return {k: _ratio(pairwise_diversity(fake[fake_labels == k]), pairwise_diversity(real[real_labels == k]))
            for k in range(num_classes)}


def _ratio(fake: float, real: float) -> float:
    if math.isnan(fake) or math.isnan(real) or real <= 0:
        return float("nan")
    return fake / real


def summarize(per_class: dict[int, float]) -> tuple[float, float]:
    """(mean, minimum) over the classes that have a value; (NaN, NaN) when none has."""
    values = [v for v in per_class.values() if not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    return sum(values) / len(values), min(values)
