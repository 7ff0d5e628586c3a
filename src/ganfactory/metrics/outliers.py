"""Outliers: images far from the rest of their class in feature space (StyleGAN2-ADA's first data check).

An image's score is its mean cosine distance to its k nearest neighbours of the same class, expressed as a
robust z-score within the class ((score - median) / (1.4826 * MAD)), so one threshold suits tight and loose
classes alike. Images are only listed, never moved or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_K = 5
DEFAULT_THRESHOLD = 3.5  # robust z above which an image is listed (Iglewicz & Hoaglin's usual cut-off)


@dataclass(frozen=True)
class Outlier:
    index: int  # row in the feature array
    score: float  # robust z-score within the class
    distance: float  # mean cosine distance to the k nearest same-class images


def knn_cosine_distance(features: np.ndarray, *, k: int = DEFAULT_K) -> np.ndarray:
    """Mean cosine distance of each sample [n, D] to its min(k, n-1) nearest others -> [n] (zeros when n < 2)."""
    n = len(features)
    if n < 2:
        return np.zeros(n)
    x = features.astype(np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    distance = 1.0 - x @ x.T
    np.fill_diagonal(distance, np.inf)
    k = min(k, n - 1)
    return np.sort(distance, axis=1)[:, :k].mean(1)


def robust_z(values: np.ndarray) -> np.ndarray:
    """(v - median) / (1.4826 * MAD); zeros when the spread is 0 (all alike)."""
    median = np.median(values)
    mad = 1.4826 * np.median(np.abs(values - median))
    return (values - median) / mad if mad > 0 else np.zeros_like(values)


def class_outliers(features: np.ndarray, labels: np.ndarray, *, k: int = DEFAULT_K,
                   threshold: float = DEFAULT_THRESHOLD, min_class_size: int = 8) -> list[Outlier]:
    """Outliers of every class (classes under min_class_size are too small to judge), highest score first.

    features: [N, D]; labels: int [N].
    """
    found = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < min_class_size:
            continue
        distance = knn_cosine_distance(features[members], k=k)
        scores = robust_z(distance)
        found += [Outlier(int(members[i]), float(scores[i]), float(distance[i]))
                  for i in np.flatnonzero(scores > threshold)]
    return sorted(found, key=lambda o: -o.score)
