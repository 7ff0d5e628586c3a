"""FID, KID, precision/recall and density/coverage against their definitions, on synthetic feature arrays."""

import numpy as np
import pytest
import scipy.linalg

from ganfactory.metrics.bootstrap import percentile_estimate
from ganfactory.metrics.fid import fid_estimate, frechet_distance
from ganfactory.metrics.kid import kernel_inception_distance, kid_estimate
from ganfactory.metrics.prdc import per_sample_prdc, prdc_estimates


def gaussian(n, d, seed, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(size=(n, d)) * scale + shift


def sqrtm_fid(a, b):
    """The textbook formula with scipy's matrix square root, for comparison."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(scipy.linalg.sqrtm(s1 @ s2))
    return np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * root)


@pytest.mark.parametrize("n,d", [(40, 64), (300, 16)])  # fewer samples than dimensions, and more
def test_fid_matches_the_matrix_square_root_formula(n, d):
    a, b = gaussian(n, d, 0), gaussian(n + 7, d, 1, shift=0.2, scale=1.3)
    assert frechet_distance(a, b) == pytest.approx(sqrtm_fid(a, b), rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_fid_weights_equal_duplicated_rows():
    a, b = gaussian(20, 8, 0), gaussian(25, 8, 1)
    counts = np.random.default_rng(2).multinomial(20, np.full(20, 0.05))
    assert frechet_distance(a, b, real_weights=counts) == pytest.approx(
        frechet_distance(np.repeat(a, counts, axis=0), b), rel=1e-9)


def test_fid_interval_contains_the_estimate_and_grows_with_the_gap():
    a, near, far = gaussian(150, 16, 0), gaussian(150, 16, 1), gaussian(150, 16, 2, shift=1.0)
    close, distant = fid_estimate(a, near, rounds=50), fid_estimate(a, far, rounds=50)
    assert close.low <= close.value <= close.high
    assert distant.low > close.high  # a shift of 1 in 16 dimensions is far outside the noise


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_for_two():
    a, b, c = gaussian(200, 16, 0), gaussian(200, 16, 1), gaussian(200, 16, 2, shift=0.5)
    same, different = kid_estimate(a, b, rounds=100), kid_estimate(a, c, rounds=100)
    assert same.low < 0.0 < same.high
    assert different.low > 0.0
    assert kernel_inception_distance(a, c, subsets=5) == pytest.approx(different.value, rel=0.5)


def test_kid_subsets_cover_unequal_sizes_and_refuse_single_samples():
    assert np.isfinite(kernel_inception_distance(gaussian(50, 4, 0), gaussian(12, 4, 1), subsets=10))
    with pytest.raises(ValueError, match="two samples"):
        kernel_inception_distance(gaussian(1, 4, 0), gaussian(5, 4, 1))


def test_precision_recall_density_coverage_follow_their_definitions():
    real = gaussian(400, 8, 0)
    same = prdc_estimates(real, gaussian(400, 8, 1), rounds=50)
    assert same["precision"].value > 0.7 and same["recall"].value > 0.7
    assert 0.7 < same["density"].value < 1.3 and same["coverage"].value > 0.8
    # Mode collapse: every generated sample near one real point -> precise but no recall or coverage.
    collapsed = per_sample_prdc(real, real[:1] + gaussian(400, 8, 2, scale=0.01))
    assert collapsed.precision.mean() == 1.0
    assert collapsed.recall.mean() < 0.05 and collapsed.coverage.mean() < 0.05
    # Far away: nothing inside the other manifold.
    apart = per_sample_prdc(real, gaussian(400, 8, 3, shift=20.0))
    assert apart.precision.sum() == apart.recall.sum() == apart.density.sum() == apart.coverage.sum() == 0


def test_percentile_interval_can_be_recentred_on_the_estimate():
    replicates = np.linspace(10.0, 12.0, 101)
    plain, moved = percentile_estimate(5.0, replicates), percentile_estimate(5.0, replicates, recentre=True)
    assert plain.low > 5.0
    assert moved.low < 5.0 < moved.high and moved.high - moved.low == pytest.approx(plain.high - plain.low)
