"""Caption consistency: does an image match its sentence? An image encoder is trained on the real training
pairs to land near their sentence embeddings (a symmetric InfoNCE loss against the fixed text embeddings, as
CLIP trains, with the text side frozen); then R-precision as AttnGAN reports it (Xu et al. 2018): for each image,
rank its true caption among `candidates` - 1 captions of other images by cosine similarity; the score is the
share ranked first. Real test images give the reference value; chance is 1 / candidates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SIZE = 32  # images are compared at this size, so stage-I and stage-II outputs are judged alike


class ImageEncoder(nn.Module):
    """[B, 3, H, W] in [-1, 1] -> [B, D] unit vectors (resized to SIZE first)."""

    def __init__(self, dim: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, width * 2, width * 4, width * 4):  # 32 -> 2
            layers += [nn.Conv2d(channels, out, 3, 2, 1), nn.GroupNorm(8, out), nn.SiLU()]
            channels = out
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 4, dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = F.interpolate(images.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                               antialias=True)
        return F.normalize(self.body(images), dim=1)


@dataclass(frozen=True)
class EncoderTraining:
    steps: int = 400
    batch: int = 64
    lr: float = 1e-3
    temperature: float = 0.07
    width: int = 32  # the encoder's first conv width (GroupNorm: a multiple of 8)
    seed: int = 0


def train_image_encoder(images: torch.Tensor, texts: torch.Tensor, settings: EncoderTraining = EncoderTraining()
                        ) -> ImageEncoder:
    """images [N, 3, H, W] in [-1, 1]; texts [N, D] (unit) sentence embeddings of the same rows."""
    generator = torch.Generator().manual_seed(settings.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        encoder = ImageEncoder(texts.shape[1], width=settings.width)
    optimiser = torch.optim.Adam(encoder.parameters(), lr=settings.lr)
    texts = F.normalize(texts.float(), dim=1)
    for _ in range(settings.steps):
        index = torch.randperm(len(images), generator=generator)[:settings.batch]
        batch = images[index]
        if bool(torch.rand(1, generator=generator) < 0.5):
            batch = batch.flip(3)
        logits = encoder(batch) @ texts[index].T / settings.temperature
        target = torch.arange(len(index))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return encoder.eval()


@torch.no_grad()
def r_precision(encoder: ImageEncoder, images: torch.Tensor, true_texts: torch.Tensor, pool: torch.Tensor,
                pool_owner: np.ndarray, owners: np.ndarray, *, candidates: int = 100, seed: int = 0) -> float:
    """Share of images whose own caption (true_texts[i], [N, D]) outranks `candidates` - 1 captions drawn from
    `pool` [M, D] whose owner (an image id, pool_owner [M]) differs from the image's owner (owners [N])."""
    rng = np.random.default_rng(seed)
    features = torch.cat([encoder(images[i:i + 256]) for i in range(0, len(images), 256)])
    pool = F.normalize(pool.float(), dim=1)
    hits = 0
    for i in range(len(images)):
        others = np.flatnonzero(pool_owner != owners[i])
        chosen = rng.choice(others, size=min(candidates - 1, len(others)), replace=False)
        scores = features[i] @ torch.cat([F.normalize(true_texts[i:i + 1].float(), dim=1), pool[chosen]]).T
        hits += int(scores.argmax().item() == 0)
    return hits / len(images)
