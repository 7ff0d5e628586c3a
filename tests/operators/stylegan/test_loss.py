"""StyleGAN2-ADA losses, regularisers, lazy-regularisation Adam and style mixing; real training steps."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganfactory.nn.augment import AdaptiveAugment
from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.loss import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_reg_adam_params,
    mix_styles,
    path_length_penalty,
    r1_penalty,
)
from ganfactory.operators.stylegan.networks import Generator


def tiny_pair(num_classes: int = 0) -> tuple[Generator, Discriminator]:
    torch.manual_seed(0)
    G = Generator(z_dim=16, w_dim=16, num_classes=num_classes, resolution=8, channel_base=128,
                  channel_max=16, mapping_layers=2)  # fmt: skip
    D = Discriminator(num_classes=num_classes, resolution=8, channel_base=128, channel_max=16,
                      mapping_layers=2)  # fmt: skip
    return G, D


def test_logistic_losses_match_softplus() -> None:
    real, fake = torch.tensor([[2.0], [-1.0]]), torch.tensor([[0.5], [-3.0]])
    torch.testing.assert_close(g_nonsaturating_loss(fake), F.softplus(-fake).mean())
    torch.testing.assert_close(d_logistic_loss(real, fake), F.softplus(fake).mean() + F.softplus(-real).mean())
    assert g_nonsaturating_loss(torch.zeros(3, 1)).item() == pytest.approx(math.log(2))


def test_r1_penalty_is_nonzero_scales_with_gamma_and_trains_d() -> None:
    _, D = tiny_pair()
    real = torch.randn(4, 3, 8, 8).requires_grad_(True)
    logits = D(real)
    r1 = r1_penalty(logits, real, 2.0)
    (grads,) = torch.autograd.grad(D(real).sum(), real)
    assert r1.item() > 0
    torch.testing.assert_close(r1, grads.square().sum(dim=[1, 2, 3]).mean(), rtol=1e-5, atol=1e-6)
    r1.backward()
    weight_grads = [p.grad for p in D.parameters() if p.grad is not None]
    assert weight_grads and all(torch.isfinite(g).all() for g in weight_grads)
    assert sum(g.abs().sum() for g in weight_grads) > 0


def test_r1_through_augmentation() -> None:
    _, D = tiny_pair()
    augment = AdaptiveAugment(initial_p=1.0)
    real = torch.randn(4, 3, 8, 8).requires_grad_(True)
    r1 = r1_penalty(D(augment(real, generator=torch.Generator().manual_seed(0))), real, 1.0)
    r1.backward()
    assert torch.isfinite(r1) and r1.item() > 0


def test_path_length_penalty_updates_mean_and_trains_g() -> None:
    G, _ = tiny_pair()
    ws = G.mapping(torch.randn(4, 16))
    img = G.synthesis(ws)
    pl_mean = torch.zeros([])
    penalty, new_mean = path_length_penalty(img, ws, pl_mean, 0.01)
    assert torch.isfinite(penalty) and new_mean.item() > 0 and not new_mean.requires_grad
    penalty.backward()
    assert G.mapping.layers[0].weight.grad is not None
    assert torch.isfinite(G.mapping.layers[0].weight.grad).all()


def test_lazy_regularisation_adam_correction() -> None:
    lr, betas = lazy_reg_adam_params(0.0025, (0.0, 0.99), 16)
    c = 16 / 17
    assert lr == pytest.approx(0.0025 * c) and betas == pytest.approx((0.0, 0.99**c))
    assert lazy_reg_adam_params(0.002, (0.0, 0.99), None) == (0.002, (0.0, 0.99))


def test_mix_styles() -> None:
    G, _ = tiny_pair(num_classes=2)
    z, c = torch.randn(3, 16), torch.tensor([0, 1, 1])
    plain = mix_styles(G, z, c, prob=0.0)
    torch.testing.assert_close(plain, G.mapping(z, c))
    mixed = mix_styles(G, z, c, prob=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(mixed[:, 0], plain[:, 0])
    assert not torch.equal(mixed[:, -1], plain[:, -1])


@pytest.mark.parametrize("num_classes", [0, 2])
def test_real_training_steps_move_weights_and_stay_finite(num_classes: int) -> None:
    G, D = tiny_pair(num_classes)
    opt_G = torch.optim.Adam(G.parameters(), lr=0.01, betas=(0.0, 0.99))
    opt_D = torch.optim.Adam(D.parameters(), lr=0.01, betas=(0.0, 0.99))
    augment = AdaptiveAugment(initial_p=0.5)
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(4, 3, 8, 8) * 2 - 1
    c = torch.tensor([0, 1, 0, 1]) if num_classes else None
    before_g = [p.detach().clone() for p in G.parameters()]
    before_d = [p.detach().clone() for p in D.parameters()]
    pl_mean = torch.zeros([])
    for step in range(3):
        G.requires_grad_(True), D.requires_grad_(False)
        ws = mix_styles(G, torch.randn(4, 16), c, prob=0.9, update_emas=True, generator=gen)
        g_loss = g_nonsaturating_loss(D(augment(G.synthesis(ws), generator=gen), c))
        ws_pl = ws[:2]  # path length on half the batch, as the paper does
        penalty, pl_mean = path_length_penalty(G.synthesis(ws_pl), ws_pl, pl_mean)
        (g_loss + 2.0 * penalty).backward()
        opt_G.step(), opt_G.zero_grad()
        G.requires_grad_(False), D.requires_grad_(True)
        with torch.no_grad():
            fake = G(torch.randn(4, 16), c)
        real_in = real.detach().requires_grad_(step == 0)
        real_logits = D(augment(real_in, generator=gen), c)
        d_loss = d_logistic_loss(real_logits, D(augment(fake, generator=gen), c))
        if step == 0:
            d_loss = d_loss + r1_penalty(real_logits, real_in, 1.0)
        d_loss.backward()
        opt_D.step(), opt_D.zero_grad()
        assert torch.isfinite(g_loss) and torch.isfinite(d_loss) and torch.isfinite(penalty)
    assert any(not torch.equal(a, b) for a, b in zip(before_g, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, D.parameters()))
    assert all(torch.isfinite(p).all() for p in list(G.parameters()) + list(D.parameters()))
