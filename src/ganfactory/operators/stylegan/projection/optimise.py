"""The projector: find W (or W+) latents whose images reproduce target images (Karras et al. 2020,
*Analyzing and Improving the Image Quality of StyleGAN*, appendix D), written from the paper.

Following the paper: the search starts at the average w (per class for a conditional generator), Adam
(betas 0.9, 0.999) with the learning rate ramped up over the first 5% of the steps and down by a cosine over
the last 25%, and Gaussian noise added to w whose scale, w_std * 0.05 at the start, falls quadratically to zero
at 75% of the steps (it explores early and settles late). Deviations: the loss is our perceptual distance
(ganfactory.operators.stylegan.projection.perceptual) plus a weighted pixel MSE instead of LPIPS; the per-layer
noise inputs are held constant (noise_mode "const", so a latent alone reproduces its image, which DatasetGAN
needs) instead of optimised with the paper's noise regularisation; W+ is a second stage that starts from the W
result and optimises one w per layer with the same schedule and no latent noise.
All images of a batch are optimised together; each has its own latent, so the batch does not mix them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.projection.perceptual import FeatureFn, feature_distance

Space = Literal["w", "w+"]


@dataclass(frozen=True)
class ProjectionSettings:
    """space: 'w' (one vector broadcast to all layers) or 'w+' (one per layer, after the W search); steps per
    stage; lr: the peak Adam learning rate; pixel_weight: weight of the pixel MSE (images in [-1, 1]);
    noise_factor, noise_ramp, lr_rampdown, lr_rampup: the paper's schedule (fractions of the steps)."""

    space: Space = "w"
    steps: int = 1000
    lr: float = 0.1
    pixel_weight: float = 1.0
    noise_factor: float = 0.05
    noise_ramp: float = 0.75
    lr_rampdown: float = 0.25
    lr_rampup: float = 0.05


@dataclass
class ProjectionResult:
    """ws [N, num_ws, w_dim]; images [N, C, R, R] in [-1, 1]; initial_loss, w_loss, final_loss [N] (the loss
    at the average w, after the W search, and at the end: equal to w_loss for space 'w')."""

    ws: Tensor
    images: Tensor
    initial_loss: Tensor
    w_loss: Tensor
    final_loss: Tensor


def learning_rate(t: float, *, peak: float, rampdown: float, rampup: float) -> float:
    """The paper's schedule at progress t in [0, 1]: linear warm-up over `rampup`, cosine fall over `rampdown`."""
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return peak * ramp * min(1.0, t / rampup)


def latent_noise_scale(t: float, *, factor: float, ramp: float) -> float:
    """Multiplier of w_std for the noise added to w at progress t: factor * max(0, 1 - t / ramp)^2."""
    return factor * max(0.0, 1.0 - t / ramp) ** 2


@torch.no_grad()
def w_statistics(G: Generator, *, classes: list[int | None], samples: int = 2000,
                 seed: int = 0) -> tuple[Tensor, Tensor]:
    """(w_avg [N, w_dim], w_std [N]) for each image's class (None: all classes, or unconditional), from
    `samples` mapped z; w_std is the root mean squared distance of those w from their mean (the paper's)."""
    device = next(G.parameters()).device
    stats: dict[int | None, tuple[Tensor, Tensor]] = {}
    generator = torch.Generator(device="cpu").manual_seed(seed)
    for c in dict.fromkeys(classes):
        z = torch.randn(samples, G.z_dim, generator=generator).to(device)
        labels = None
        if G.num_classes:
            labels = (torch.randint(G.num_classes, (samples,), generator=generator) if c is None
                      else torch.full((samples,), c, dtype=torch.long)).to(device)
        w = G.mapping(z, labels)[:, 0].float()
        mean = w.mean(dim=0)
        stats[c] = (mean, (w - mean).square().sum(dim=1).mean().sqrt())
    return torch.stack([stats[c][0] for c in classes]), torch.stack([stats[c][1] for c in classes])


def image_loss(images: Tensor, targets: Tensor, target_features: list[Tensor] | None, *,
               features: FeatureFn | None, pixel_weight: float) -> Tensor:
    """Per image [N]: perceptual distance (0 without features) + pixel_weight * mean squared pixel error."""
    loss = pixel_weight * (images - targets).square().flatten(1).mean(dim=1)
    if features is not None and target_features is not None:
        loss = loss + feature_distance(features(images), target_features)
    return loss


def project(G: Generator, targets: Tensor, *, w_avg: Tensor, w_std: Tensor, features: FeatureFn | None,
            settings: ProjectionSettings) -> ProjectionResult:
    """Latents reproducing `targets` [N, C, R, R] (floats in [-1, 1], G's size and channels), starting at
    w_avg [N, w_dim] with latent noise scaled by w_std [N]."""
    with torch.no_grad():
        target_features = [f.detach() for f in features(targets)] if features is not None else None
    loss_of = _loss_function(G, targets, target_features, features=features, settings=settings)
    broadcast = _broadcast(G.num_ws)
    initial = _evaluate(loss_of, broadcast(w_avg))
    w = _optimise(loss_of, w_avg.clone(), expand=broadcast, noise_std=w_std, settings=settings)
    ws = broadcast(w)
    w_loss = _evaluate(loss_of, ws)
    final = w_loss
    if settings.space == "w+":
        ws = _optimise(loss_of, ws.clone(), expand=lambda x: x, noise_std=None, settings=settings)
        final = _evaluate(loss_of, ws)
    with torch.no_grad():
        images = G.synthesis(ws, noise_mode="const").float()
    return ProjectionResult(ws=ws.detach(), images=images, initial_loss=initial, w_loss=w_loss, final_loss=final)


LossFn = Callable[[Tensor], Tensor]


def _loss_function(G: Generator, targets: Tensor, target_features: list[Tensor] | None, *,
                   features: FeatureFn | None, settings: ProjectionSettings) -> LossFn:
    def loss_of(ws: Tensor) -> Tensor:
        images = G.synthesis(ws, noise_mode="const").float()
        return image_loss(images, targets, target_features, features=features, pixel_weight=settings.pixel_weight)
    return loss_of


def _broadcast(num_ws: int) -> Callable[[Tensor], Tensor]:
    return lambda w: w.unsqueeze(1).expand(-1, num_ws, -1)


@torch.no_grad()
def _evaluate(loss_of: LossFn, ws: Tensor) -> Tensor:
    return loss_of(ws).detach().cpu()


def _optimise(loss_of: LossFn, latent: Tensor, *, expand: Callable[[Tensor], Tensor], noise_std: Tensor | None,
              settings: ProjectionSettings) -> Tensor:
    """Adam on `latent` ([N, w_dim] or [N, num_ws, w_dim]) for settings.steps steps; returns the result."""
    latent = latent.detach().requires_grad_(True)
    optimizer = torch.optim.Adam([latent], lr=settings.lr, betas=(0.9, 0.999))
    for step in range(settings.steps):
        t = step / settings.steps
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(t, peak=settings.lr, rampdown=settings.lr_rampdown, rampup=settings.lr_rampup)
        noisy = latent
        if noise_std is not None:
            scale = latent_noise_scale(t, factor=settings.noise_factor, ramp=settings.noise_ramp)
            noisy = latent + torch.randn_like(latent) * (noise_std * scale).view(-1, *[1] * (latent.ndim - 1))
        optimizer.zero_grad(set_to_none=True)
        # Summed, so every image's latent gets the gradient of its own loss whatever the batch size.
        loss_of(expand(noisy)).sum().backward()
        optimizer.step()
    return latent.detach()
