"""Conditioning augmentation, KL, wrong pairs and the losses, on tiny networks."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from ganfactory.operators.stackgan import loss as losses
from ganfactory.operators.stackgan.networks import (
    ConditioningAugmentation,
    Discriminator,
    Stage1Generator,
    Stage2Generator,
    init_weights,
)


def test_conditioning_augmentation_reparameterises() -> None:
    torch.manual_seed(0)
    ca = ConditioningAugmentation(embedding_dim=6, condition_dim=3)
    embedding, eps = torch.randn(5, 6), torch.randn(5, 3)
    c, mu, logvar = ca(embedding, eps)
    both = torch.relu(ca.fc(embedding))
    torch.testing.assert_close(mu, both[:, :3])
    torch.testing.assert_close(logvar, both[:, 3:])
    assert (mu >= 0).all() and (logvar >= 0).all()  # the reference's ReLU quirk
    torch.testing.assert_close(c, mu + torch.exp(logvar / 2) * eps)
    drawn = ca(embedding)[0]
    assert drawn.shape == (5, 3) and not torch.equal(drawn, c)  # eps None: fresh noise


def test_kl_values() -> None:
    zero = torch.zeros(2, 4)
    assert losses.kl_loss(zero, zero).item() == 0.0
    # mu = 1, logvar = 0: -0.5 * (1 + 0 - 1 - 1) = 0.5 per element
    assert losses.kl_loss(torch.ones(2, 4), zero).item() == pytest.approx(0.5)
    # mu = 0, logvar = log 4: -0.5 * (1 + log 4 - 4)
    logvar = torch.full((3, 2), float(torch.log(torch.tensor(4.0))))
    assert losses.kl_loss(torch.zeros(3, 2), logvar).item() == pytest.approx(-0.5 * (1 + 1.3862944 - 4), rel=1e-6)


def test_wrong_pairs_shift_captions_by_one() -> None:
    images = torch.arange(4.0).view(4, 1, 1, 1)
    condition = torch.arange(10.0, 14.0).view(4, 1)
    wrong_images, wrong_condition = losses.wrong_pairs(images, condition)
    assert wrong_images.flatten().tolist() == [0, 1, 2] and wrong_condition.flatten().tolist() == [11, 12, 13]
    with pytest.raises(ValueError):
        losses.wrong_pairs(images[:1], condition[:1])


@pytest.mark.parametrize("unconditional", [False, True])
def test_discriminator_loss_terms(unconditional: bool) -> None:
    torch.manual_seed(1)
    D = init_weights(Discriminator(df=2, condition_dim=3, resolution=16, unconditional=unconditional)).eval()
    real, fake, mu = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16), torch.rand(4, 3)
    out = losses.discriminator_loss(D, real, fake, mu, unconditional=unconditional)

    def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
        return F.binary_cross_entropy(torch.sigmoid(logits), torch.full_like(logits, target))

    real_f, fake_f = D(real), D(fake)
    r, f = bce(D.conditional(real_f, mu), 1), bce(D.conditional(fake_f, mu), 0)
    w = bce(D.conditional(real_f[:3], mu[1:]), 0)  # image i with caption i + 1
    assert out.parts["D_wrong"] == pytest.approx(w.item(), rel=1e-5)
    if unconditional:
        ur, uf = bce(D.unconditional(real_f), 1), bce(D.unconditional(fake_f), 0)
        expected = (r + ur) / 2 + (f + w + uf) / 3
    else:
        expected = r + (f + w) / 2
    assert out.total.item() == pytest.approx(expected.item(), rel=1e-5)


def test_generator_loss_adds_kl_twice() -> None:
    torch.manual_seed(2)
    D = init_weights(Discriminator(df=2, condition_dim=3, resolution=16, unconditional=True)).eval()
    fake, mu, logvar = torch.randn(3, 3, 16, 16), torch.rand(3, 3), torch.rand(3, 3)
    total, parts = losses.generator_loss(D, fake, mu, logvar, unconditional=True, kl_weight=2.0)
    assert total.item() == pytest.approx(parts["G_adv"] + 2.0 * losses.kl_loss(mu, logvar).item(), rel=1e-5)


@pytest.mark.parametrize("stage1, stage2", [(16, 64), (64, 256)])
def test_shapes_at_16_64_and_256(stage1: int, stage2: int) -> None:
    g1 = Stage1Generator(embedding_dim=6, condition_dim=3, z_dim=4, gf=2, resolution=stage1).eval()
    g2 = Stage2Generator(embedding_dim=6, condition_dim=3, gf=2, stage1_resolution=stage1, resolution=stage2,
                         res_blocks=1).eval()
    embedding = torch.randn(2, 6)
    image1, mu, logvar = g1(embedding, torch.randn(2, 4))
    assert image1.shape == (2, 3, stage1, stage1) and mu.shape == logvar.shape == (2, 3)
    image2 = g2(image1, embedding)[0]
    assert image2.shape == (2, 3, stage2, stage2) and image2.abs().max() <= 1
    for size, uncond in ((stage1, False), (stage2, True)):
        D = Discriminator(df=1, condition_dim=3, resolution=size, unconditional=uncond).eval()
        features = D(torch.randn(2, 3, size, size))
        assert features.shape == (2, 8, 4, 4) and D.conditional(features, mu).shape == (2,)


def test_ca_standardises_embeddings_with_training_statistics():
    torch.manual_seed(0)
    shared = F.normalize(torch.randn(16), dim=0)
    # unit-length embeddings that share one large direction, as sentence-transformers' do; dimension 3 is constant
    embeddings = F.normalize(shared * 4 + 0.3 * torch.randn(40, 16), dim=1)
    embeddings[:, 3] = 0.25
    ca = ConditioningAugmentation(embedding_dim=16, condition_dim=4, standardise=True)
    ca.set_embedding_statistics(embeddings)
    standardised = (embeddings - ca.embedding_mean) * ca.embedding_inv_std
    varying = [d for d in range(16) if d != 3]
    assert torch.allclose(standardised[:, varying].mean(0), torch.zeros(15), atol=1e-5)
    assert torch.allclose(standardised[:, varying].std(0, unbiased=False), torch.ones(15), atol=1e-4)
    assert float(ca.embedding_inv_std[3]) <= 100  # a constant dimension is floored, not blown up
    raw = ConditioningAugmentation(embedding_dim=16, condition_dim=4)
    assert "embedding_mean" not in raw.state_dict()  # the reference's raw path, and older checkpoints, unchanged
