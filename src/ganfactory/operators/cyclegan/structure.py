"""Did a translation keep the content and take the style? A check a user runs on their own data (issue 24, item 3).

Without true counterparts two numbers stand in: a structure score per image between each source and its
translation, and KID (with interval) of the translations and of the untranslated sources to the target domain.
  edge agreement  Pearson correlation of the Sobel edge magnitudes of source and translation (luminance): 1 when
                  the edges sit in the same places, whatever their strength or colour; ~0 for unrelated pictures.
  SSIM            of the luminance (Wang et al. 2004, 11x11 Gaussian window, sigma 1.5): structure and contrast
                  together, so a change of style lowers it too; read it beside the edge agreement.
  KID             translations against TARGET, and the untranslated sources against TARGET as the yardstick:
                  "took the style" is a KID below the sources' (needs the shipped Inception network).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganfactory.data.dataset import iter_image_batches
from ganfactory.errors import InputError
from ganfactory.output.atomic import atomic_write_json

log = logging.getLogger(__name__)

__all__ = ["edge_agreement", "luminance", "ssim", "structure_report"]

SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)


def luminance(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] (C 1 or 3) -> float64 [N, 1, H, W] in [0, 1] (Rec. 601 weights)."""
    x = images.double() / 255
    if x.shape[1] == 1:
        return x
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)
    return (x[:, :3] * weights).sum(1, keepdim=True)


def _edges(y: torch.Tensor) -> torch.Tensor:
    padded = F.pad(y, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(padded, SOBEL[None, None]), F.conv2d(padded, SOBEL.T[None, None])
    return (gx.square() + gy.square()).sqrt()


def edge_agreement(source: torch.Tensor, translated: torch.Tensor) -> np.ndarray:
    """Per image [N]: correlation of the edge maps of two uint8 batches (0 where an image has no edges at all)."""
    a, b = (_edges(luminance(x)).flatten(1) for x in (source, translated))
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    denominator = a.norm(dim=1) * b.norm(dim=1)
    value = (a * b).sum(1) / denominator.clamp(min=1e-12)
    return torch.where(denominator > 1e-12, value, torch.zeros_like(value)).numpy()


def ssim(source: torch.Tensor, translated: torch.Tensor) -> np.ndarray:
    """Per image [N]: mean SSIM of the luminance of two uint8 batches (valid window positions; sides >= 11)."""
    x, y = luminance(source), luminance(translated)
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-coords.square() / (2 * 1.5**2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None]
    mx, my = F.conv2d(x, window), F.conv2d(y, window)
    vx, vy = F.conv2d(x * x, window) - mx.square(), F.conv2d(y * y, window) - my.square()
    cxy = F.conv2d(x * y, window) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx.square() + my.square() + c1) * (vx + vy + c2))
    return value.flatten(1).mean(1).numpy()


def _summary(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(values.mean()), "p10": float(np.quantile(values, 0.1)),
            "median": float(np.median(values)), "min": float(values.min())}


def _kid(targets: list[Path], translated: list[Path], sources: list[Path], *, size: tuple[int, int],
         limit: int) -> dict[str, Any]:
    """KID of the translations and of the sources to the target images (at most `limit` of each), or why not."""
    from ganfactory.metrics.kid import kid_estimate
    from ganfactory.metrics.loaders import load_feature_network

    if len(targets) < 2 or len(translated) < 2:
        return {"skipped": "KID needs at least two target and two translated images"}
    try:
        network = load_feature_network()
    except InputError as exc:
        return {"skipped": str(exc)}

    def features(paths: list[Path]) -> np.ndarray:
        batches = iter_image_batches(paths[:limit], size=size, channels=3, batch_size=32, mode="resize")
        return np.concatenate([network.extract(images) for images, _ in batches])

    target_features = features(targets)
    return {"network": network.identity.name, "images": min(limit, len(translated)),
            "translated": kid_estimate(target_features, features(translated)).as_dict(),
            "untranslated": kid_estimate(target_features, features(sources)).as_dict()}


def structure_report(pairs: dict[Path, Path], targets: list[Path], path: Path, *, size: tuple[int, int],
                     channels: int, kid_images: int = 500) -> dict[str, Any]:
    """Score every (source file -> translated file) pair, KID against `targets`, write the report to `path`."""
    sources = sorted(p for p in pairs if pairs[p].exists())
    edges, similarity, names = [], [], []
    for images, files in iter_image_batches(sources, size=size, channels=channels, batch_size=32, mode="resize"):
        translated, _ = next(iter_image_batches([pairs[f] for f in files], size=size, channels=channels,
                                                batch_size=len(files), mode="resize"))
        edges.append(edge_agreement(images, translated))
        similarity.append(ssim(images, translated) if min(size) >= 11 else np.full(len(files), np.nan))
        names += [str(pairs[f]) for f in files]
    if not names:
        raise InputError(f"No translated images to check for {path.parent}; run the translation first.")
    edge, same = np.concatenate(edges), np.concatenate(similarity)
    report: dict[str, Any] = {"images": len(names), "edge_agreement": _summary(edge), "ssim": _summary(same),
              "least_structure_kept": [{"file": names[i], "edge_agreement": float(edge[i])}
                                       for i in np.argsort(edge)[:5]],
              "kid": _kid(targets, [pairs[s] for s in sources], sources, size=size, limit=kid_images)}
    atomic_write_json(path, report)
    log.info("Structure report: edge agreement %.3f (mean), SSIM %.3f; written to %s.",
             report["edge_agreement"]["mean"], report["ssim"]["mean"], path)
    return report
