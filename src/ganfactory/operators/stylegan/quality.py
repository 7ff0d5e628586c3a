"""Metrics during StyleGAN training: KID/FID of G_ema against a fixed subset of the training images.

Every evaluation uses the same real subset (drawn once with a fixed seed) and the same latent seeds, so the
figures of one run compare across ticks; only the generator changes. The class mix of the fakes follows the
real subset's. Figures on a few hundred images are noisy and FID is biased upward at small N (see
ganfactory.metrics.fid): they rank checkpoints of one run, they are not publishable values.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ganfactory.engine.best import PrimaryMetric
from ganfactory.metrics.fid import frechet_distance
from ganfactory.metrics.kid import kernel_inception_distance
from ganfactory.metrics.network import FeatureNetwork
from ganfactory.operators.stylegan.models import synthesize
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.output.images import to_uint8

log = logging.getLogger(__name__)

SUBSET_SEED = 20_240_917  # the real subset's draw: fixed so every tick (and a resumed run) sees the same images
CHUNK = 32  # generated images per forward pass
LATENT_SEED0 = 3_000_000  # latent seeds of the evaluation fakes, apart from the sample grid's and the diversity watch's


class TrainingMetrics:
    """KID and/or FID of a generator against a fixed subset of real images, in one network's features.

    images: uint8 [N, C, H, W] training images; labels: int64 [N] (ignored when num_classes is 0);
    count: images per side (min(count, N)); names: "kid", "fid" (the first is the primary metric).
    """

    def __init__(self, *, network: FeatureNetwork, names: list[str], images: torch.Tensor, labels: torch.Tensor,
                 num_classes: int, count: int) -> None:
        self.network, self.names, self.num_classes = network, names, num_classes
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(SUBSET_SEED))[:count]
        self.real = images.cpu()[pick]
        self.labels = labels.cpu()[pick] if num_classes else torch.zeros(len(pick), dtype=torch.long)
        self._real_features: np.ndarray | None = None  # extracted on the first evaluation, then reused

    @property
    def primary(self) -> PrimaryMetric:
        """The first name's metric; KID and FID are distances, so lower is better."""
        return PrimaryMetric(f"metrics/{self.names[0]}", higher_is_better=False)

    def _fake_features(self, G: Generator, device: torch.device) -> np.ndarray:
        parts = []
        for k in self.labels.unique().tolist():
            seeds = [LATENT_SEED0 + int(i) for i in torch.nonzero(self.labels == k).flatten()]
            for start in range(0, len(seeds), CHUNK):  # bounded memory at high resolutions
                images = synthesize(G, seeds=seeds[start:start + CHUNK], class_index=int(k) if self.num_classes
                                    else None, truncation=1.0, device=device)
                parts.append(self.network.extract(to_uint8(images)))
        return np.concatenate(parts)

    def __call__(self, G: Generator, device: torch.device) -> dict[str, float]:
        """{"metrics/kid": ..., "metrics/fid": ...} for the names asked (lower is better)."""
        if self._real_features is None:
            self._real_features = self.network.extract(self.real)
        fake = self._fake_features(G, device)
        out = {}
        for name in self.names:
            if name == "kid":  # equal sets of at most 1,000: one unbiased MMD^2 over the whole subset
                out["metrics/kid"] = kernel_inception_distance(self._real_features, fake, subset_size=len(fake))
            elif name == "fid":
                out["metrics/fid"] = frechet_distance(self._real_features, fake)
        return out
