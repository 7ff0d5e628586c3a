"""Kernel Inception Distance (Binkowski et al. 2018, *Demystifying MMD GANs*) on feature arrays.

KID is the unbiased estimator of the squared MMD with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3,
averaged over random subsets (as in StyleGAN2-ADA: 100 subsets of at most 1,000 samples per set). It is
unbiased, so unlike FID it can be compared across sample sizes, and it can be slightly negative.

The bootstrap interval resamples both sets and leaves out the pairs of a sample with its own copies (a
weighted U-statistic), so the duplicates a resample draws do not bias the replicates.
"""

from __future__ import annotations

import numpy as np

from ganfactory.metrics.bootstrap import Estimate, percentile_estimate, resample_counts


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(x.y / D + 1)^3 for x [n, D], y [m, D] -> [n, m] (float64)."""
    return (x.astype(np.float64) @ y.astype(np.float64).T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    m, n = len(kxx), len(kyy)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def _weighted_mmd2(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> float:
    """The unbiased MMD^2 of a resample given as counts cx [m], cy [n]: pairs of a sample with itself excluded."""
    cx, cy = cx.astype(np.float64), cy.astype(np.float64)

    def within(k: np.ndarray, c: np.ndarray) -> float:
        pairs = c.sum() ** 2 - np.sum(c * c)
        return (c @ k @ c - np.sum(c * c * np.diag(k))) / pairs if pairs > 0 else float("nan")

    return float(within(kxx, cx) + within(kyy, cy) - 2.0 * (cx @ kxy @ cy) / (cx.sum() * cy.sum()))


def kernel_inception_distance(real: np.ndarray, generated: np.ndarray, *, subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> float:
    """KID between real [n, D] and generated [m, D] (n, m >= 2): the mean unbiased MMD^2 over random subsets.

    Each subset draws min(n, m, subset_size) samples from each set without replacement.
    Raises ValueError when a set has fewer than two samples.
    """
    if len(real) < 2 or len(generated) < 2:
        raise ValueError(f"KID needs at least two samples per set (got {len(real)} and {len(generated)}).")
    rng = np.random.default_rng(seed)
    size = min(len(real), len(generated), subset_size)
    if size == len(real) == len(generated):
        subsets = 1  # every subset would hold both whole sets: one evaluation is their average
    values = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = generated[rng.choice(len(generated), size, replace=False)]
        values.append(_unbiased_mmd2(polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)))
    return float(np.mean(values))


def kid_estimate(real: np.ndarray, generated: np.ndarray, *, rounds: int = 100, seed: int = 0,
                 level: float = 0.95, subsets: int = 100, subset_size: int = 1000) -> Estimate:
    """KID with a percentile bootstrap interval (kernel matrices computed once; O(n^2) memory)."""
    rng = np.random.default_rng(seed + 1)
    value = kernel_inception_distance(real, generated, subsets=subsets, subset_size=subset_size, seed=seed)
    kxx, kyy = polynomial_kernel(real, real), polynomial_kernel(generated, generated)
    kxy = polynomial_kernel(real, generated)
    cx = resample_counts(len(real), rounds=rounds, rng=rng)
    cy = resample_counts(len(generated), rounds=rounds, rng=rng)
    replicates = np.array([_weighted_mmd2(kxx, kyy, kxy, a, b) for a, b in zip(cx, cy)])
    return percentile_estimate(value, replicates, level=level)
