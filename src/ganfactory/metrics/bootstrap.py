"""Bootstrap confidence intervals: resampling counts and percentile intervals, shared by every metric.

A resample is a vector of counts (how often each original sample is drawn, summing to n), not a list of
copies, so estimators can leave out pairs of a sample with its own copy (KID) or weight means (FID, PRDC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A figure with its bootstrap percentile interval [low, high] at `level` (e.g. 0.95)."""

    value: float
    low: float
    high: float
    level: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level}


def resample_counts(n: int, *, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """int64 [rounds, n]: per round, how often each of n samples is drawn in n draws with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=rounds)


def percentile_estimate(value: float, replicates: np.ndarray, *, level: float = 0.95,
                        recentre: bool = False) -> Estimate:
    """The point estimate with the (1 - level)/2 and (1 + level)/2 percentiles of its bootstrap replicates.

    recentre: shift the replicates so that their median is the point estimate. For a biased statistic (FID)
    the replicates, drawn with duplicates, carry a larger bias than the estimate and can lie entirely above
    it; shifted, the interval shows the sampling spread around the estimate, and the bias is stated apart.
    """
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return Estimate(value=float(value), low=float("nan"), high=float("nan"), level=level)
    if recentre:
        finite = finite - np.median(finite) + value
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(value=float(value), low=float(low), high=float(high), level=level)


def weighted_mean_estimate(per_sample: np.ndarray, *, rounds: int, rng: np.random.Generator,
                           level: float = 0.95) -> Estimate:
    """Mean of per-sample values [n] with a bootstrap interval over the samples (NaN when n is 0)."""
    if per_sample.size == 0:
        return Estimate(value=float("nan"), low=float("nan"), high=float("nan"), level=level)
    counts = resample_counts(per_sample.size, rounds=rounds, rng=rng)
    replicates = counts @ per_sample.astype(np.float64) / per_sample.size
    return percentile_estimate(float(per_sample.mean()), replicates, level=level)
