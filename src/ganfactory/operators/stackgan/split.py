"""Train/test splits of a prepared StackGAN dataset: seeded and stratified by class, or class-disjoint (the
split the CUB results use: 150 train / 50 test classes)."""

from __future__ import annotations

import numpy as np

from ganfactory.errors import InputError


def stratified_split(classes: list[str], *, test_fraction: float, seed: int) -> list[int]:
    """0 (train) or 1 (test) per item, in the items' order: in every class of two or more images,
    round(n * test_fraction) of them (at least one when the fraction is above 0, never all) are test."""
    rng = np.random.default_rng(seed)
    flags = [0] * len(classes)
    for name in sorted(set(classes)):
        members = [i for i, c in enumerate(classes) if c == name]
        if len(members) < 2 or test_fraction <= 0:
            continue
        count = min(len(members) - 1, max(1, round(len(members) * test_fraction)))
        for index in rng.permutation(members)[:count]:
            flags[int(index)] = 1
    return flags


def class_split(classes: list[str], *, test_fraction: float, seed: int) -> list[int]:
    """0/1 per item with whole classes held out: round(K * test_fraction) of the K classes (at least one,
    never all) are test classes. Raises InputError with fewer than two classes."""
    names = sorted(set(classes))
    if len(names) < 2:
        raise InputError("--split-by-class needs at least two classes; add classes or drop --split-by-class.")
    count = min(len(names) - 1, max(1, round(len(names) * test_fraction)))
    test = {names[int(i)] for i in np.random.default_rng(seed).permutation(len(names))[:count]}
    return [int(c in test) for c in classes]
