"""CycleGAN losses, the full generator objective, the image pool and the learning-rate schedule."""

import io

import pytest
import torch
import torch.nn.functional as F

from ganfactory.operators.cyclegan.loss import (
    cycle_loss,
    discriminator_loss,
    generator_objective,
    identity_loss,
    lsgan_loss,
)
from ganfactory.operators.cyclegan.networks import PatchDiscriminator, ResnetGenerator, init_weights
from ganfactory.operators.cyclegan.pool import ImagePool
from ganfactory.operators.cyclegan.schedule import linear_decay_factor, make_lr_scheduler, split_epochs

LOSS_NAMES = {"G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B"}


def tiny_nets(channels: int = 3, seed: int = 0):
    torch.manual_seed(seed)
    g_a = init_weights(ResnetGenerator(channels, channels, base_channels=8, n_blocks=1))
    g_b = init_weights(ResnetGenerator(channels, channels, base_channels=8, n_blocks=1))
    d_a = init_weights(PatchDiscriminator(channels, base_channels=8, n_layers=2))
    d_b = init_weights(PatchDiscriminator(channels, base_channels=8, n_layers=2))
    return g_a, g_b, d_a, d_b


def test_elementary_losses():
    pred = torch.tensor([[0.0, 2.0]])
    assert lsgan_loss(pred, True).item() == pytest.approx(1.0)  # ((0-1)^2 + (2-1)^2) / 2
    assert lsgan_loss(pred, False).item() == pytest.approx(2.0)
    real, rec = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)
    assert cycle_loss(rec, real).item() == pytest.approx(5.0)
    assert cycle_loss(rec, real, lam=2.0).item() == pytest.approx(1.0)
    assert identity_loss(rec, real).item() == pytest.approx(2.5)
    assert identity_loss(rec.bfloat16(), real).dtype == torch.float32


def test_discriminator_loss_is_halved_and_stops_at_the_fake():
    _, _, d, _ = tiny_nets()
    real = torch.rand(2, 3, 16, 16)
    source = torch.rand(2, 3, 16, 16, requires_grad=True)
    fake = source * 2 - 1
    loss = discriminator_loss(d, real, fake)
    expected = 0.5 * (F.mse_loss(d(real), torch.ones(2, 1, 2, 2)) + F.mse_loss(d(fake), torch.zeros(2, 1, 2, 2)))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert source.grad is None
    assert all(p.grad is not None for p in d.parameters())


def test_generator_objective_terms_and_gradients():
    g_a, g_b, d_a, d_b = tiny_nets()
    real_a, real_b = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    out = generator_objective(g_a=g_a, g_b=g_b, d_a=d_a, d_b=d_b, real_a=real_a, real_b=real_b)
    assert set(out.losses) == LOSS_NAMES
    torch.testing.assert_close(out.total.detach(), sum(out.losses.values()))
    with torch.no_grad():
        fake_b, fake_a = g_a(real_a), g_b(real_b)
        torch.testing.assert_close(out.fake_b, fake_b)
        torch.testing.assert_close(out.losses["G_A"], F.mse_loss(d_a(fake_b), torch.ones_like(d_a(fake_b))))
        torch.testing.assert_close(out.losses["idt_A"], 5.0 * F.l1_loss(g_a(real_b), real_b))
        torch.testing.assert_close(out.losses["cycle_B"], 10.0 * F.l1_loss(g_a(fake_a), real_b))
    out.total.backward()
    # The generator step must not pay for (or leave behind) discriminator weight gradients.
    assert all(p.grad is None for p in [*d_a.parameters(), *d_b.parameters()])
    assert all(p.requires_grad for p in [*d_a.parameters(), *d_b.parameters()])
    assert all(p.grad is not None for p in g_a.parameters())


def test_generator_objective_without_identity_skips_it():
    g_a, g_b, d_a, d_b = tiny_nets(channels=1)
    real = torch.rand(1, 1, 16, 16)
    out = generator_objective(g_a=g_a, g_b=g_b, d_a=d_a, d_b=d_b, real_a=real, real_b=real, lambda_identity=0.0)
    assert out.losses["idt_A"].item() == 0.0 and out.losses["idt_B"].item() == 0.0


def test_a_few_adam_steps_of_the_full_objective_lower_the_cycle_loss():
    g_a, g_b, d_a, d_b = tiny_nets()
    opt_g = torch.optim.Adam([*g_a.parameters(), *g_b.parameters()], lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=2e-3, betas=(0.5, 0.999))
    pool_a = ImagePool(4, generator=torch.Generator().manual_seed(1))
    pool_b = ImagePool(4, generator=torch.Generator().manual_seed(2))
    # Domain A: horizontal gradients; domain B: the same images as vertical, colour-inverted gradients.
    ramp = torch.linspace(-1, 1, 16)
    base = ramp.view(1, 1, 1, 16) * torch.rand(4, 3, 1, 1)
    real_a, real_b = base.expand(4, 3, 16, 16), -base.transpose(2, 3).expand(4, 3, 16, 16)
    cycle = []
    for _ in range(12):
        out = generator_objective(g_a=g_a, g_b=g_b, d_a=d_a, d_b=d_b, real_a=real_a, real_b=real_b)
        opt_g.zero_grad()
        out.total.backward()
        opt_g.step()
        loss_d = (discriminator_loss(d_a, real_b, pool_b.query(out.fake_b))
                  + discriminator_loss(d_b, real_a, pool_a.query(out.fake_a)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        cycle.append((out.losses["cycle_A"] + out.losses["cycle_B"]).item())
    assert sum(cycle[-3:]) / 3 < 0.7 * sum(cycle[:3]) / 3


def test_pool_returns_new_images_until_full_then_a_mix():
    pool = ImagePool(3, generator=torch.Generator().manual_seed(0))
    batches = [torch.full((1, 1, 2, 2), float(i)) for i in range(40)]
    for batch in batches[:3]:
        assert torch.equal(pool.query(batch), batch)
    assert len(pool) == 3
    returned = [pool.query(batch).flatten()[0].item() for batch in batches[3:]]
    fresh = sum(value == i + 3 for i, value in enumerate(returned))
    assert 0 < fresh < len(returned)  # about half current, half from history
    assert any(value < i + 3 for i, value in enumerate(returned))


def test_pool_handles_batches_per_image_and_keeps_the_layout():
    pool = ImagePool(2, generator=torch.Generator().manual_seed(0))
    batch = torch.rand(3, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    out = pool.query(batch)
    assert torch.equal(out, batch) and len(pool) == 2
    assert pool.query(batch).is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(ImagePool(0).query(batch), batch)


def run_pool(pool: ImagePool, batches: list[torch.Tensor]) -> list[torch.Tensor]:
    return [pool.query(batch) for batch in batches]


def test_pool_state_round_trips_so_a_resumed_run_equals_an_uninterrupted_one():
    torch.manual_seed(0)
    batches = [torch.rand(2, 3, 4, 4) for _ in range(30)]
    uninterrupted = run_pool(ImagePool(5, generator=torch.Generator().manual_seed(7)), batches)
    first = ImagePool(5, generator=torch.Generator().manual_seed(7))
    before = run_pool(first, batches[:12])
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = ImagePool(5, generator=torch.Generator().manual_seed(999))
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    after = run_pool(resumed, batches[12:])
    for expected, got in zip(uninterrupted, before + after):
        assert torch.equal(expected, got)
    with pytest.raises(ValueError, match="pool size"):
        ImagePool(2).load_state_dict(first.state_dict())


def test_schedule_is_constant_then_linear_to_zero():
    assert split_epochs(100) == (50, 50)
    factors = [linear_decay_factor(e, n_constant=50, n_decay=50) for e in range(101)]
    assert factors[:50] == [1.0] * 50
    steps = [a - b for a, b in zip(factors[49:], factors[50:])]
    assert all(step == pytest.approx(1 / 51) for step in steps)
    assert factors[100] == pytest.approx(0.0) and factors[99] > 0


def lrs_over(scheduler: torch.optim.lr_scheduler.LambdaLR, epochs: int) -> list[float]:
    values = []
    for _ in range(epochs):
        values.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()  # the epoch's training; keeps torch's step-order check quiet
        scheduler.step()
    return values


def test_scheduler_is_resumable():
    def make():
        opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-4)
        return opt, make_lr_scheduler(opt, max_epoch=10, constant_fraction=0.5)

    _, full = make()
    expected = lrs_over(full, 11)
    assert expected[:5] == [1e-4] * 5 and expected[10] == pytest.approx(0.0)
    opt, first = make()
    head = lrs_over(first, 4)
    state = {"opt": opt.state_dict(), "sched": first.state_dict()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    opt2, second = make()
    opt2.load_state_dict(state["opt"])
    second.load_state_dict(state["sched"])
    assert head + lrs_over(second, 7) == pytest.approx(expected)
