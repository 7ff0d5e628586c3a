"""Fréchet Inception Distance (Heusel et al. 2017) on feature arrays, with bootstrap intervals and FID-infinity.

FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)). Tr((S_r S_g)^(1/2)) is computed exactly without a
matrix square root: with S = A^T A (A the centred, scaled features), it is the sum of the singular values of
A_r A_g^T (an n_r x n_g matrix), which for a few hundred images is much cheaper and more stable than
scipy's sqrtm on 2,048 x 2,048 matrices. With more images than dimensions the D x D route is taken.

FID is biased upward at small N (Chong & Forsyth 2020, *Effectively Unbiased FID and Inception Score and
where to find them*): compare figures only at equal N, and see `fid_infinity` for the extrapolation to N -> inf.
"""

from __future__ import annotations

import numpy as np

from ganfactory.metrics.bootstrap import Estimate, percentile_estimate, resample_counts

BIAS_NOTE = ("FID is biased upward for small N (Chong & Forsyth 2020); compare runs only at equal N, "
             "and read FID-infinity (the extrapolation to N -> infinity) beside it.")


def _factor(features: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and A [n', D] with A^T A the (weighted) sample covariance; zero-weight rows dropped."""
    x = features.astype(np.float64)
    w = np.ones(len(x)) if weights is None else weights.astype(np.float64)
    keep = w > 0
    x, w = x[keep], w[keep]
    total = w.sum()
    mean = (w[:, None] * x).sum(0) / total
    return mean, np.sqrt(w)[:, None] * (x - mean) / np.sqrt(max(total - 1.0, 1.0))


def trace_sqrt_product(a: np.ndarray, b: np.ndarray) -> float:
    """Tr((A^T A B^T B)^(1/2)) for A [n, D], B [m, D]."""
    if min(len(a), len(b)) <= a.shape[1]:
        return float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    s1, s2 = a.T @ a, b.T @ b
    values, vectors = np.linalg.eigh(s1)
    root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum())


def frechet_distance(real: np.ndarray, generated: np.ndarray, *, real_weights: np.ndarray | None = None,
                     generated_weights: np.ndarray | None = None) -> float:
    """FID between feature arrays real [n, D] and generated [m, D] (n, m >= 2); optional sample weights [n], [m].

    Raises ValueError when a set has fewer than two samples (no covariance).
    """
    if len(real) < 2 or len(generated) < 2:
        raise ValueError(f"FID needs at least two samples per set (got {len(real)} and {len(generated)}).")
    mean_r, a = _factor(real, real_weights)
    mean_g, b = _factor(generated, generated_weights)
    value = np.sum((mean_r - mean_g) ** 2) + np.sum(a * a) + np.sum(b * b) - 2.0 * trace_sqrt_product(a, b)
    return float(max(value, 0.0))  # rounding can leave -1e-9 for identical sets


def fid_estimate(real: np.ndarray, generated: np.ndarray, *, rounds: int = 100, seed: int = 0,
                 level: float = 0.95) -> Estimate:
    """FID with a bootstrap interval (both sets resampled) recentred on the estimate.

    Resamples hold duplicates, so they behave like smaller sets and carry a larger small-N bias than the
    estimate itself; the interval therefore shows the spread, recentred, and says nothing about the bias
    (see fid_infinity and BIAS_NOTE).
    """
    rng = np.random.default_rng(seed)
    value = frechet_distance(real, generated)
    real_counts = resample_counts(len(real), rounds=rounds, rng=rng)
    gen_counts = resample_counts(len(generated), rounds=rounds, rng=rng)
    replicates = np.array([frechet_distance(real, generated, real_weights=rc, generated_weights=gc)
                           for rc, gc in zip(real_counts, gen_counts)])
    return percentile_estimate(value, replicates, level=level, recentre=True)


def fid_infinity(real: np.ndarray, generated: np.ndarray, *, points: int = 15, seed: int = 0) -> float | None:
    """FID extrapolated to infinitely many generated images (Chong & Forsyth 2020).

    FID is computed on generated subsets of `points` sizes from m/2 to m (drawn without replacement), a line
    is fitted to FID against 1/N, and its intercept returned. None when m < 20 (too few sizes to fit).
    """
    m = len(generated)
    if m < 20 or len(real) < 2:
        return None
    rng = np.random.default_rng(seed)
    sizes = np.unique(np.linspace(m // 2, m, points).astype(int))
    values = [frechet_distance(real, generated[rng.permutation(m)[:size]]) for size in sizes]
    slope, intercept = np.polyfit(1.0 / sizes, values, 1)
    return float(intercept)
