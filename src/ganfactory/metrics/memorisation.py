"""Memorisation: for each generated image, its nearest training image, in feature space and in pixels.

A GAN trained on a few hundred images can hand back near-copies of them. Two views catch different copies:
feature cosine similarity (robust to small shifts and colour changes) and the pixel RMSE of 32x32 RGB
thumbnails (exact copies, whatever the network thinks). A generated image counts as memorised when either
crosses its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COSINE_THRESHOLD = 0.95  # feature cosine at or above which an image is treated as a near-copy
PIXEL_THRESHOLD = 0.04  # thumbnail RMSE (pixel values in [0, 1]) at or below which an image is a near-copy


@dataclass(frozen=True)
class Nearest:
    """Per generated image i: the training image nearest in features (index, cosine) and in pixels (index, RMSE)."""

    feature_index: np.ndarray  # int64 [m]
    cosine: np.ndarray  # float64 [m], in [-1, 1]
    pixel_index: np.ndarray  # int64 [m]
    pixel_rmse: np.ndarray  # float64 [m], in [0, 1]

    def memorised(self, *, cosine_threshold: float = COSINE_THRESHOLD,
                  pixel_threshold: float = PIXEL_THRESHOLD) -> np.ndarray:
        """bool [m]: near-copies by either measure."""
        return (self.cosine >= cosine_threshold) | (self.pixel_rmse <= pixel_threshold)


def _unit(features: np.ndarray) -> np.ndarray:
    x = features.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest_training_images(generated_features: np.ndarray, training_features: np.ndarray,
                            generated_thumbs: np.ndarray, training_thumbs: np.ndarray, *,
                            chunk: int = 512) -> Nearest:
    """Nearest training image of each generated one.

    Features: generated [m, D], training [n, D]. Thumbnails: uint8 [m, C, T, T] and [n, C, T, T] of equal shape.
    Pure function. Raises ValueError when the training set is empty.
    """
    if len(training_features) == 0:
        raise ValueError("memorisation needs at least one training image.")
    train_unit = _unit(training_features)
    train_pix = training_thumbs.reshape(len(training_thumbs), -1).astype(np.float64) / 255.0
    train_sq = np.sum(train_pix * train_pix, 1)
    parts = []
    for start in range(0, len(generated_features), chunk):  # chunks bound the [m, n] similarity matrices
        cos = _unit(generated_features[start:start + chunk]) @ train_unit.T
        pix = generated_thumbs[start:start + chunk].reshape(len(cos), -1).astype(np.float64) / 255.0
        mse = (np.sum(pix * pix, 1)[:, None] + train_sq[None, :] - 2.0 * pix @ train_pix.T) / pix.shape[1]
        parts.append((cos.argmax(1), cos.max(1), mse.argmin(1), np.sqrt(np.clip(mse.min(1), 0, None))))
    if not parts:
        empty = np.zeros(0)
        return Nearest(empty.astype(np.int64), empty, empty.astype(np.int64), empty)
    return Nearest(*(np.concatenate(column) for column in zip(*parts)))


def closest_pairs(nearest: Nearest, *, count: int = 16) -> list[tuple[int, int, float]]:
    """The `count` generated images most similar to their nearest training image: (generated, training, cosine)."""
    order = np.argsort(-nearest.cosine, kind="stable")[:count]
    return [(int(i), int(nearest.feature_index[i]), float(nearest.cosine[i])) for i in order]
