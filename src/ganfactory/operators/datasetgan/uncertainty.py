"""Per-pixel ensemble decisions and uncertainty (Zhang et al. 2021, sec. 4; REFERENCES).

The Jensen-Shannon divergence of the members, H(mean_i p_i) - mean_i H(p_i), is computed from
probabilities (softmax of the logits): the reference used logits as probabilities until Sep 2021 (#27).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

TOP_FRACTION = 0.1  # an image's score: the mean JS of its most uncertain 10% of pixels


def entropy(p: Tensor, dim: int = -1) -> Tensor:
    """Shannon entropy in nats along `dim`; 0 * log 0 counts as 0."""
    return -(torch.special.xlogy(p, p)).sum(dim=dim)


def js_uncertainty(probs: Tensor) -> Tensor:
    """probs [M, P, K] (each row sums to 1) -> JS [P] in nats, in [0, ln M]."""
    return entropy(probs.mean(dim=0)) - entropy(probs).mean(dim=0)


def ensemble_mode(logits: Tensor) -> Tensor:
    """logits [M, P, K] -> per-pixel majority vote [P] of the members' argmax (ties: the lowest class)."""
    votes = logits.argmax(dim=-1)  # [M, P]
    counts = torch.nn.functional.one_hot(votes, logits.shape[-1]).sum(dim=0)  # [P, K]
    return counts.argmax(dim=-1)


def image_score(js: Tensor, top_fraction: float = TOP_FRACTION) -> float:
    """Mean of the top `top_fraction` of an image's pixel JS values [P] (at least one pixel)."""
    k = max(1, math.ceil(js.numel() * top_fraction))
    return float(js.flatten().topk(k).values.mean())
