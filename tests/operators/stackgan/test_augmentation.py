"""The reference's training augmentation: a random crop per batch and, unless --no-mirror, a random flip."""

import torch

from ganfactory.operators.stackgan.data import random_crop_flip


def _asymmetric_batch() -> torch.Tensor:
    images = torch.zeros(4, 3, 10, 10, dtype=torch.uint8)
    images[:, :, :, :3] = 255  # a bright left edge: a flip moves it to the right
    return images


def test_mirror_flips_some_batches_and_no_mirror_never_does():
    flipped = {True: 0, False: 0}
    for mirror in (True, False):
        generator = torch.Generator().manual_seed(0)
        for _ in range(40):
            crop = random_crop_flip(_asymmetric_batch(), 8, generator, mirror=mirror)
            flipped[mirror] += int(crop[0, 0, 0, -1] > 0 and crop[0, 0, 0, 0] < 0)
    assert 5 < flipped[True] < 35
    assert flipped[False] == 0


def test_crop_offsets_follow_the_same_stream_with_or_without_mirror():
    images = torch.arange(2 * 3 * 12 * 12, dtype=torch.int64).remainder(256).to(torch.uint8).view(2, 3, 12, 12)
    a, b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _ in range(10):
        with_mirror = random_crop_flip(images, 8, a, mirror=True)
        without = random_crop_flip(images, 8, b, mirror=False)
        assert torch.equal(with_mirror, without) or torch.equal(with_mirror, without.flip(3))
