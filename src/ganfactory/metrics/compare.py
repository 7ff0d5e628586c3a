"""Every figure of `evaluate` for one pair of feature sets, overall and per class, as JSON-ready dicts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ganfactory.metrics.features import FeatureSet
from ganfactory.metrics.fid import BIAS_NOTE, fid_estimate, fid_infinity
from ganfactory.metrics.kid import kid_estimate
from ganfactory.metrics.memorisation import Nearest, closest_pairs, nearest_training_images
from ganfactory.metrics.prdc import DC_K, PR_K, prdc_estimates


def compare_sets(real: np.ndarray, generated: np.ndarray, *, rounds: int = 100, seed: int = 0,
                 level: float = 0.95) -> dict[str, Any]:
    """FID (with FID-infinity), KID, precision, recall, density, coverage of real [n, D] vs generated [m, D].

    A figure the sample sizes cannot support is left out and its reason listed under "skipped".
    """
    n, m = len(real), len(generated)
    result: dict[str, Any] = {"n_real": n, "n_generated": m, "skipped": {}}
    if min(n, m) >= 2:
        result["fid"] = fid_estimate(real, generated, rounds=rounds, seed=seed, level=level).as_dict()
        result["fid"]["bias_note"] = BIAS_NOTE
        result["fid_infinity"] = fid_infinity(real, generated, seed=seed)
        result["kid"] = kid_estimate(real, generated, rounds=rounds, seed=seed, level=level).as_dict()
    else:
        result["skipped"]["fid"] = result["skipped"]["kid"] = "needs two images in each set"
    if n > DC_K and m > PR_K:
        for name, estimate in prdc_estimates(real, generated, rounds=rounds, seed=seed, level=level).items():
            result[name] = estimate.as_dict()
    else:
        result["skipped"]["precision/recall/density/coverage"] = (
            f"needs more than {DC_K} real and {PR_K} generated images")
    return result


def compare_feature_sets(real: FeatureSet, generated: FeatureSet, *, rounds: int = 100, seed: int = 0,
                         level: float = 0.95) -> dict[str, Any]:
    """Overall figures and, for each class, the same figures on that class alone. A class found in one set only
    keeps its row, with its counts and why it has no figures (a row that vanished read as a class never asked
    for)."""
    report = {"overall": compare_sets(real.features, generated.features, rounds=rounds, seed=seed, level=level),
              "per_class": {}}
    names = generated.class_names + [name for name in real.class_names if name not in generated.class_names]
    for name in names:
        real_rows, gen_rows = real.of_class(name), generated.of_class(name)
        if len(real_rows) and len(gen_rows):
            report["per_class"][name] = compare_sets(real.features[real_rows], generated.features[gen_rows],
                                                     rounds=rounds, seed=seed, level=level)
        else:
            missing = "no real images of this class" if not len(real_rows) else "no generated images of this class"
            report["per_class"][name] = {"n_real": int(len(real_rows)), "n_generated": int(len(gen_rows)),
                                         "skipped": {"all": missing}}
    return report


def memorisation_report(real: FeatureSet, generated: FeatureSet, *, cosine_threshold: float,
                        pixel_threshold: float, pairs: int = 16) -> tuple[dict[str, Any], Nearest]:
    """Memorisation rate over all generated images (nearest among all training images) and the closest pairs."""
    nearest = nearest_training_images(generated.features, real.features, generated.thumbs, real.thumbs)
    memorised = nearest.memorised(cosine_threshold=cosine_threshold, pixel_threshold=pixel_threshold)
    report = {
        "rate": float(memorised.mean()) if len(memorised) else float("nan"),
        "count": int(memorised.sum()),
        "cosine_threshold": cosine_threshold,
        "pixel_rmse_threshold": pixel_threshold,
        "max_cosine": float(nearest.cosine.max()) if len(memorised) else float("nan"),
        "closest_pairs": [{"generated": str(generated.files[g]), "training": str(real.files[t]), "cosine": c,
                           "nearest_pixel_rmse": float(nearest.pixel_rmse[g])}
                          for g, t, c in closest_pairs(nearest, count=pairs)],
    }
    return report, nearest
