"""StackGAN's losses as pure functions (Zhang et al. 2017, section 3 and the reference code).

Matching-aware discriminator: real image + its text (real), fake image + its text (fake), real image + another
image's text (wrong: the captions shifted by one in the batch). The condition given to D is the CA mean mu,
detached, as in the reference. Logits in, BCE with logits (the reference's sigmoid + BCE, numerically stable).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from ganfactory.operators.stackgan.networks import Discriminator


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), averaged over every element as the reference does:
    -0.5 * mean(1 + logvar - mu^2 - exp(logvar))."""
    mu, logvar = mu.float(), logvar.float()  # under autocast they come in bf16/fp16; exp and mean need fp32
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())


def wrong_pairs(images: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(images[:-1], condition[1:]): image i with the caption of image i + 1, B - 1 mismatched pairs."""
    if images.shape[0] < 2:
        raise ValueError("Wrong pairs need a batch of at least two.")
    return images[:-1], condition[1:]


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    logits = logits.float()  # the loss in fp32 under autocast too (a no-op in fp32)
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


@dataclass(frozen=True)
class DiscriminatorLoss:
    total: torch.Tensor
    parts: dict[str, float]


def discriminator_loss(D: Discriminator, real: torch.Tensor, fake: torch.Tensor, mu: torch.Tensor, *,
                       unconditional: bool) -> DiscriminatorLoss:
    """Stage I: real + (fake + wrong) / 2. Stage II (`unconditional`): (real + uncond_real) / 2 +
    (fake + wrong + uncond_fake) / 3. real, fake: [B, 3, R, R]; mu: [B, C] (detached here)."""
    mu = mu.detach()
    real_features, fake_features = D(real), D(fake.detach())
    wrong_features, wrong_mu = wrong_pairs(real_features, mu)
    real_loss = _bce(D.conditional(real_features, mu), 1.0)
    fake_loss = _bce(D.conditional(fake_features, mu), 0.0)
    wrong_loss = _bce(D.conditional(wrong_features, wrong_mu), 0.0)
    parts = {"D_real": real_loss.item(), "D_fake": fake_loss.item(), "D_wrong": wrong_loss.item()}
    if not unconditional:
        return DiscriminatorLoss(real_loss + (fake_loss + wrong_loss) / 2, parts)
    uncond_real = _bce(D.unconditional(real_features), 1.0)
    uncond_fake = _bce(D.unconditional(fake_features), 0.0)
    parts.update(D_uncond_real=uncond_real.item(), D_uncond_fake=uncond_fake.item())
    total = (real_loss + uncond_real) / 2 + (fake_loss + wrong_loss + uncond_fake) / 3
    return DiscriminatorLoss(total, parts)


def generator_loss(D: Discriminator, fake: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *,
                   unconditional: bool, kl_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """BCE(D(fake | mu) -> real) (+ the unconditional term in stage II) + kl_weight * KL(mu, logvar)."""
    features = D(fake)
    adversarial = _bce(D.conditional(features, mu.detach()), 1.0)
    if unconditional:
        adversarial = adversarial + _bce(D.unconditional(features), 1.0)
    kl = kl_loss(mu, logvar)
    return adversarial + kl_weight * kl, {"G_adv": adversarial.item(), "KL": kl.item()}
