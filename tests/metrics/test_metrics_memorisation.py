"""Memorisation finds copies of training images; outliers finds the image that does not belong to its class."""

import numpy as np

from ganfactory.metrics.memorisation import closest_pairs, nearest_training_images
from ganfactory.metrics.outliers import class_outliers, robust_z


def test_copies_are_found_by_feature_and_by_pixel():
    rng = np.random.default_rng(0)
    train_f, train_t = rng.normal(size=(30, 16)), rng.integers(0, 256, (30, 3, 8, 8), dtype=np.uint8)
    gen_f = np.concatenate([train_f[[4]] * 2.0, rng.normal(size=(5, 16))])  # a scaled copy: cosine 1
    gen_t = np.concatenate([train_t[[4]], rng.integers(0, 256, (5, 3, 8, 8), dtype=np.uint8)])
    gen_t[3] = train_t[17]  # a pixel copy whose features say otherwise
    nearest = nearest_training_images(gen_f, train_f, gen_t, train_t, chunk=4)
    assert nearest.feature_index[0] == 4 and nearest.cosine[0] > 0.9999
    assert nearest.pixel_index[3] == 17 and nearest.pixel_rmse[3] == 0.0
    flags = nearest.memorised(cosine_threshold=0.95, pixel_threshold=0.01)
    assert flags[0] and flags[3] and flags.sum() == 2
    assert closest_pairs(nearest, count=1)[0][:2] == (0, 4)


def test_the_odd_image_of_a_class_is_the_outlier():
    rng = np.random.default_rng(1)
    centre_a, centre_b = rng.normal(size=32), rng.normal(size=32)
    a = centre_a + 0.05 * rng.normal(size=(20, 32))
    b = centre_b + 0.05 * rng.normal(size=(20, 32))
    a[7] = centre_b  # an image of class b filed under class a
    found = class_outliers(np.concatenate([a, b]), np.repeat([0, 1], 20), threshold=3.5)
    assert [o.index for o in found] == [7]
    assert robust_z(np.ones(5)).tolist() == [0.0] * 5
