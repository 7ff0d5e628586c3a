"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

Three transforms, each drawn per image on every call and applied to every image: colour (brightness, saturation,
contrast), translation (integer shifts up to 1/8 of the size, zero padding) and cutout (a square of half the
size set to zero). They are applied to real and generated images before D in D's step and to generated images
in G's step, so D never sees an un-augmented image and G is trained through the same transforms (all of them
are differentiable with respect to the images). Written from the paper's description.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

POLICY: tuple[str, ...] = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(x: Tensor, generator: torch.Generator | None, *shape: int) -> Tensor:
    return torch.rand(x.shape[0], *shape, generator=generator, device=x.device, dtype=torch.float32)


def color(x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """Brightness + U(-0.5, 0.5); saturation x U(0, 2) around the pixel's channel mean; contrast x U(0.5, 1.5)
    around the image mean (images in [-1, 1])."""
    dtype = x.dtype
    x = x.float()
    x = x + (_uniform(x, generator, 1, 1, 1) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (_uniform(x, generator, 1, 1, 1) * 2) + mean_c
    mean_all = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean_all) * (_uniform(x, generator, 1, 1, 1) + 0.5) + mean_all
    return x.to(dtype)


def translation(x: Tensor, *, ratio: float = TRANSLATION_RATIO, generator: torch.Generator | None = None) -> Tensor:
    """Shift each image by integers in [-ratio * size, ratio * size] on each axis, filling with zeros."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sy == 0 and sx == 0:
        return x
    dy = torch.randint(-sy, sy + 1, (b, 1), generator=generator, device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1), generator=generator, device=x.device)
    padded = F.pad(x, (sx, sx, sy, sy))
    rows = torch.arange(h, device=x.device)[None, :] + sy - dy  # [B, H]: source row of each output row
    cols = torch.arange(w, device=x.device)[None, :] + sx - dx
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return out.permute(0, 3, 1, 2)


def cutout(x: Tensor, *, ratio: float = CUTOUT_RATIO, generator: torch.Generator | None = None) -> Tensor:
    """Zero one square of side ratio * size per image, its centre anywhere in the image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=generator, device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=generator, device=x.device)
    top, left = cy - ch // 2, cx - cw // 2  # may lie outside the image: the square is then clipped
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside)[:, None].to(x.dtype)


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Tensor, *, policy: Sequence[str] = POLICY, generator: torch.Generator | None = None) -> Tensor:
    """Apply the transforms of `policy` in order (each with fresh per-image parameters)."""
    for name in policy:
        if name not in _TRANSFORMS:
            raise ValueError(f"unknown DiffAugment transform {name!r}; use {', '.join(_TRANSFORMS)}")
        x = _TRANSFORMS[name](x, generator=generator)
    return x
