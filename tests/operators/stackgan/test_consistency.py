"""Caption consistency: an image encoder trained on matching pairs ranks true captions first; noise does not."""

from __future__ import annotations

import numpy as np
import torch

from ganfactory.operators.stackgan.consistency import EncoderTraining, r_precision, train_image_encoder


def test_r_precision_separates_matching_from_random_images() -> None:
    generator = torch.Generator().manual_seed(0)
    colours = torch.rand(8, 3, 1, 1, generator=generator) * 2 - 1
    texts = torch.nn.functional.normalize(torch.randn(8, 16, generator=generator), dim=1)
    owner = np.repeat(np.arange(8), 6)  # 6 images per "caption"
    images = colours[owner].expand(-1, -1, 16, 16) + 0.05 * torch.randn(48, 3, 16, 16, generator=generator)
    encoder = train_image_encoder(images, texts[owner], EncoderTraining(steps=40, batch=32, lr=3e-3, width=8))
    score = r_precision(encoder, images, texts[owner], texts, np.arange(8), owner, candidates=8)
    noise = torch.rand(48, 3, 16, 16, generator=generator) * 2 - 1
    chance = r_precision(encoder, noise, texts[owner], texts, np.arange(8), owner, candidates=8)
    assert score >= 0.9, score
    assert chance < 0.5, chance
