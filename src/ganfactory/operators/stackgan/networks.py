"""StackGAN networks (Zhang et al. 2017, as hanzhanggit/StackGAN-Pytorch builds them), any power-of-two size.

Discriminators return logits (the losses use BCE with logits: the reference's sigmoid + BCE, computed stably).
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import nn


def _conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1, bias=False)


def _up(cin: int, cout: int) -> nn.Sequential:
    """Nearest x2, 3x3 conv, BN, ReLU (the reference's upBlock)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv3(cin, cout), nn.BatchNorm2d(cout),
                         nn.ReLU(True))


def _down(cin: int, cout: int, *, norm: bool = True) -> nn.Sequential:
    """4x4 stride-2 conv, BN (not on the first layer), LeakyReLU 0.2."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2, True))


def _steps(size: int, to: int) -> int:
    return int(math.log2(size // to))


class ConditioningAugmentation(nn.Module):
    """Text embedding [B, E] -> (c, mu, logvar), each [B, C]: FC to 2C with ReLU (the reference's quirk: mu and
    logvar are both >= 0), c = mu + exp(logvar / 2) * eps with eps ~ N(0, I) drawn from the global RNG.

    `standardise`: the embedding is first centred and scaled per dimension with the training captions'
    statistics (buffers, set by `set_embedding_statistics`, saved with the weights). Why: logvar >= 0 puts a noise
    floor of std 1 on c, and the reference's char-CNN-RNN embeddings are large enough to rise above it; a
    sentence-transformers embedding is unit-length, its dimensions ~0.05, and shares one large mean direction
    across captions, so through the N(0, 0.02) FC its mu starts ~100x under the noise and the text is lost."""

    embedding_mean: torch.Tensor  # buffers (register_buffer), declared for the type checker
    embedding_inv_std: torch.Tensor

    def __init__(self, *, embedding_dim: int, condition_dim: int, standardise: bool = False) -> None:
        super().__init__()
        self.fc = nn.Linear(embedding_dim, condition_dim * 2)
        self.condition_dim = condition_dim
        self.standardise = standardise
        if standardise:
            self.register_buffer("embedding_mean", torch.zeros(embedding_dim))
            self.register_buffer("embedding_inv_std", torch.ones(embedding_dim))

    @torch.no_grad()
    def set_embedding_statistics(self, embeddings: torch.Tensor) -> None:
        """embeddings: [N, E], the training captions' embeddings (no-op without `standardise`). A dimension that
        barely varies in training is not blown up: its std is floored at a tenth of the mean std (and 0.01)."""
        if self.standardise:
            std = embeddings.std(0, unbiased=False)
            self.embedding_mean.copy_(embeddings.mean(0))
            self.embedding_inv_std.copy_(1.0 / std.clamp_min(max(0.1 * float(std.mean()), 1e-2)))

    def forward(self, embedding: torch.Tensor, eps: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """eps: the noise to use (None: drawn here), [B, C]."""
        if self.standardise:
            embedding = (embedding - self.embedding_mean) * self.embedding_inv_std
        mu, logvar = torch.relu(self.fc(embedding)).split(self.condition_dim, dim=1)
        if eps is None:
            eps = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar


class Stage1Generator(nn.Module):
    """(embedding [B, E], z [B, Z]) -> (image [B, 3, R, R] in [-1, 1], mu, logvar). R = resolution."""

    def __init__(self, *, embedding_dim: int, condition_dim: int, z_dim: int, gf: int, resolution: int,
                 standardise: bool = False) -> None:
        super().__init__()
        self.ca = ConditioningAugmentation(embedding_dim=embedding_dim, condition_dim=condition_dim,
                                           standardise=standardise)
        width = gf * 8
        self.fc = nn.Sequential(nn.Linear(z_dim + condition_dim, width * 16, bias=False), nn.BatchNorm1d(width * 16),
                                nn.ReLU(True))
        blocks, channels = [], width
        for _ in range(_steps(resolution, 4)):
            blocks.append(_up(channels, max(channels // 2, 1)))
            channels = max(channels // 2, 1)
        self.up = nn.Sequential(*blocks)
        self.to_image = nn.Sequential(_conv3(channels, 3), nn.Tanh())
        self.width, self.z_dim, self.resolution = width, z_dim, resolution

    def forward(self, embedding: torch.Tensor, z: torch.Tensor, eps: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c, mu, logvar = self.ca(embedding, eps)
        h = self.fc(torch.cat([z, c], dim=1)).view(-1, self.width, 4, 4)
        return self.to_image(self.up(h)), mu, logvar


class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv3(channels, channels), nn.BatchNorm2d(channels), nn.ReLU(True),
                                  _conv3(channels, channels), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class Stage2Generator(nn.Module):
    """Refines a stage-I image: (stage-I image [B, 3, r, r], embedding [B, E]) -> (image [B, 3, R, R], mu, logvar).
    The image is encoded to r/4 x r/4 x 4gf, joined with its own CA's c, passed through residual blocks and
    upsampled to R. It does not hold stage I: `StackGAN` runs the frozen stage-I generator in front of it."""

    def __init__(self, *, embedding_dim: int, condition_dim: int, gf: int, stage1_resolution: int, resolution: int,
                 res_blocks: int, standardise: bool = False) -> None:
        super().__init__()
        self.ca = ConditioningAugmentation(embedding_dim=embedding_dim, condition_dim=condition_dim,
                                           standardise=standardise)
        width = gf * 4
        self.encode = nn.Sequential(
            nn.Conv2d(3, gf, 3, 1, 1, bias=False), nn.ReLU(True),
            nn.Conv2d(gf, gf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(gf * 2), nn.ReLU(True),
            nn.Conv2d(gf * 2, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True))
        self.joint = nn.Sequential(_conv3(width + condition_dim, width), nn.BatchNorm2d(width), nn.ReLU(True))
        self.residual = nn.Sequential(*[ResBlock(width) for _ in range(res_blocks)])
        blocks, channels = [], width
        for _ in range(_steps(resolution, stage1_resolution // 4)):
            blocks.append(_up(channels, max(channels // 2, 1)))
            channels = max(channels // 2, 1)
        self.up = nn.Sequential(*blocks)
        self.to_image = nn.Sequential(_conv3(channels, 3), nn.Tanh())

    def forward(self, stage1_image: torch.Tensor, embedding: torch.Tensor, eps: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c, mu, logvar = self.ca(embedding, eps)
        h = self.encode(stage1_image)
        h = self.joint(torch.cat([h, c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], dim=1))
        return self.to_image(self.up(self.residual(h))), mu, logvar


class Discriminator(nn.Module):
    """Image [B, 3, R, R] -> 4x4x8df features; `conditional(features, mu)` and `unconditional(features)` logits
    [B]. Stage I: stride-2 convs only; stage II (`refine=True`): 3x3 convs bring wider features back to 8df,
    and an unconditional head exists."""

    def __init__(self, *, df: int, condition_dim: int, resolution: int, unconditional: bool) -> None:
        super().__init__()
        steps = _steps(resolution, 4)
        top = df * 8
        # Stage I ends the stride-2 stack at 8df; stage II keeps doubling (256 px: 32df) and narrows after
        channels = [df * 2 ** i for i in range(steps)] if unconditional else [max(top >> (steps - 1 - i), 1)
                                                                               for i in range(steps)]
        layers: list[nn.Module] = [_down(3, channels[0], norm=False)]
        layers += [_down(a, b) for a, b in zip(channels, channels[1:])]
        width = channels[-1]
        while width != top:
            nxt = max(width // 2, top) if width > top else top
            layers += [_conv3(width, nxt), nn.BatchNorm2d(nxt), nn.LeakyReLU(0.2, True)]
            width = nxt
        self.features = nn.Sequential(*layers)
        self.cond_head = nn.Sequential(_conv3(top + condition_dim, top), nn.BatchNorm2d(top), nn.LeakyReLU(0.2, True),
                                       nn.Conv2d(top, 1, 4, 4))
        self.uncond_head = nn.Conv2d(top, 1, 4, 4) if unconditional else None

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.features(image)

    def conditional(self, features: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        tiled = mu[:, :, None, None].expand(-1, -1, features.shape[2], features.shape[3])
        return self.cond_head(torch.cat([features, tiled], dim=1)).flatten()

    def unconditional(self, features: torch.Tensor) -> torch.Tensor:
        if self.uncond_head is None:
            raise RuntimeError("This discriminator has no unconditional head (stage I).")
        return self.uncond_head(features).flatten()


M = TypeVar("M", bound=nn.Module)


def init_weights(module: M) -> M:
    """The reference's weights_init: conv N(0, 0.02); BN weight N(1, 0.02), bias 0; linear N(0, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module
