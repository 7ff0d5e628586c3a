"""The memorisation gate at generation: each generated image's nearest training image, before it reaches Data/.

For every generated image it finds the training image nearest by feature cosine (the run's feature network:
the shipped FID Inception, or --features PATH) and the one nearest in pixels (RMSE of 32x32 RGB thumbnails,
the measure `evaluate` uses), records both in the image's manifest line, and with a threshold rejects the
image when its cosine is at or above it (the same rule as `evaluate --max-similarity`). Training features come
through the per-folder feature cache (metrics/cache.py), so a second generation costs only the new images.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.metrics.features import FeatureSet, folder_features, thumbnail
from ganfactory.metrics.memorisation import nearest_training_images
from ganfactory.metrics.network import FeatureNetwork
from ganfactory.output.images import tensor_to_pil

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NearestRecord:
    """One generated image against the training set: what goes into its manifest line, and the verdict."""

    source: str  # the training image nearest by feature cosine
    cosine: float  # in [-1, 1]
    pixel_source: str  # the training image nearest by thumbnail RMSE
    pixel_rmse: float  # RMSE of 32x32 RGB thumbnails, pixel values in [0, 1]
    kept: bool  # False: a near-copy under --max-similarity, not written

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "cosine": round(self.cosine, 6), "pixel_source": self.pixel_source,
                "pixel_rmse": round(self.pixel_rmse, 6)}


class MemorisationGate:
    """Compares generated images with a fixed training set; `max_similarity` None only records.

    training: the training images' features and thumbnails (metrics.features.FeatureSet).
    """

    def __init__(self, *, network: FeatureNetwork, training: FeatureSet, max_similarity: float | None) -> None:
        if len(training) == 0:
            raise ValueError("the memorisation gate needs at least one training image.")
        self.network = network
        self.training = training
        self.max_similarity = max_similarity
        self.dropped = 0
        self.checked = 0
        self._sources = [str(Path(path).resolve()) for path in training.files]  # as absolute as manifest sources
        # Identifies what decided the verdicts: a manifest line made under another gate is made again.
        digest = hashlib.sha256(training.features.astype(np.float32).tobytes()).hexdigest()
        self.identity = {"max_similarity": max_similarity, "network_sha256": network.identity.sha256,
                         "training_sha256": digest}

    @classmethod
    def build(cls, *, network: FeatureNetwork, root: Path, classes: dict[str, list[Path]],
              max_similarity: float | None, cache_dir: Path | None = None) -> MemorisationGate:
        """A gate over the images of `classes` (class name -> files) under `root`, features through the cache.

        Raises InputError when none of the training images can be read.
        """
        training = folder_features(Path(root), classes, network=network, cache_dir=cache_dir)
        return cls(network=network, training=training, max_similarity=max_similarity)

    def check(self, images: torch.Tensor) -> list[NearestRecord]:
        """Verdicts for uint8 images [B, C, H, W] (C 1 or 3), in order; counts the dropped ones."""
        if len(images) == 0:
            return []
        features = self.network.extract(list(images))
        thumbs = np.stack([thumbnail(tensor_to_pil(image)) for image in images])
        nearest = nearest_training_images(features, self.training.features, thumbs, self.training.thumbs)
        records = []
        for i in range(len(images)):
            cosine = float(nearest.cosine[i])
            kept = self.max_similarity is None or cosine < self.max_similarity
            records.append(NearestRecord(source=self._sources[int(nearest.feature_index[i])],
                                         cosine=cosine, pixel_rmse=float(nearest.pixel_rmse[i]), kept=kept,
                                         pixel_source=self._sources[int(nearest.pixel_index[i])]))
        self.checked += len(records)
        self.dropped += sum(not record.kept for record in records)
        return records
