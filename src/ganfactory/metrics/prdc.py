"""Precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and coverage (Naeem et al. 2020, k = 5).

Each set's manifold is the union of balls around its samples reaching the k-th nearest neighbour in the same
set (Euclidean distance on the features). Precision: the share of generated samples inside the real
manifold; recall: the share of real samples inside the generated one; density: how many real balls hold a
generated sample, divided by k, averaged (can exceed 1); coverage: the share of real balls holding at
least one generated sample.

Each figure is a mean of per-sample values given the manifolds, so its bootstrap interval resamples those
values with the manifolds held fixed: resampling before building k-NN balls would put copies at distance 0
and shrink the balls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganfactory.metrics.bootstrap import Estimate, weighted_mean_estimate

PR_K = 3
DC_K = 5


def pairwise_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances [n, m] between x [n, D] and y [m, D] (float64)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    squared = np.sum(x * x, 1)[:, None] + np.sum(y * y, 1)[None, :] - 2.0 * x @ y.T
    return np.sqrt(np.clip(squared, 0, None))


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance of each sample [n, D] to its k-th nearest other sample -> [n]. Needs n > k."""
    if len(features) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} samples (got {len(features)}).")
    distances = pairwise_distances(features, features)
    return np.partition(distances, k, axis=1)[:, k]  # column 0 of the sorted row is the sample itself


@dataclass(frozen=True)
class PerSample:
    """Per-sample values whose means are the four figures."""

    precision: np.ndarray  # [m] generated inside the real manifold (0/1)
    recall: np.ndarray  # [n] real inside the generated manifold (0/1)
    density: np.ndarray  # [m] real balls holding the generated sample, / k
    coverage: np.ndarray  # [n] real ball holds a generated sample (0/1)


def per_sample_prdc(real: np.ndarray, generated: np.ndarray, *, pr_k: int = PR_K, dc_k: int = DC_K) -> PerSample:
    """The per-sample values behind precision/recall (k = pr_k) and density/coverage (k = dc_k).

    Raises ValueError when a set has no more samples than the k it needs.
    """
    cross = pairwise_distances(real, generated)  # [n, m]
    real_pr, gen_pr, real_dc = knn_radii(real, pr_k), knn_radii(generated, pr_k), knn_radii(real, dc_k)
    return PerSample(
        precision=np.asarray((cross <= real_pr[:, None]).any(0), dtype=np.float64),
        recall=np.asarray((cross <= gen_pr[None, :]).any(1), dtype=np.float64),
        density=(cross < real_dc[:, None]).sum(0) / dc_k,
        coverage=(cross.min(1) < real_dc).astype(np.float64),
    )


def prdc_estimates(real: np.ndarray, generated: np.ndarray, *, rounds: int = 100, seed: int = 0,
                   level: float = 0.95) -> dict[str, Estimate]:
    """precision, recall, density, coverage, each with a bootstrap interval (manifolds held fixed)."""
    values = per_sample_prdc(real, generated)
    rng = np.random.default_rng(seed + 2)
    return {name: weighted_mean_estimate(getattr(values, name), rounds=rounds, rng=rng, level=level)
            for name in ("precision", "recall", "density", "coverage")}
