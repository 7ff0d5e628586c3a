"""ADA: identity at p = 0, differentiability, exact blits, grayscale, determinism, and the p controller."""

from __future__ import annotations

import pytest
import torch

from ganfactory.nn.augment import AdaController, AdaptiveAugment

NO_TRANSFORMS = dict(xflip=0, rotate90=0, xint=0, scale=0, rotate=0, aniso=0, xfrac=0,
                     brightness=0, contrast=0, lumaflip=0, hue=0, saturation=0)  # fmt: skip


def only(name: str, p: float = 1.0) -> AdaptiveAugment:
    return AdaptiveAugment(initial_p=p, **{**NO_TRANSFORMS, name: 1.0})


def smooth_images(batch: int, channels: int = 3, size: int = 16) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    base = torch.stack([torch.sin(3 * xx + k) * torch.cos(2 * yy - k) for k in range(channels)])
    return base.unsqueeze(0) * torch.linspace(0.5, 1.0, batch)[:, None, None, None]


def test_p_zero_is_exactly_the_identity() -> None:
    x = torch.randn(4, 3, 16, 16)
    assert AdaptiveAugment(initial_p=0.0)(x) is x


def test_gradients_pass_through_full_pipeline() -> None:
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = AdaptiveAugment(initial_p=1.0)(x, generator=torch.Generator().manual_seed(0))
    y.sum().backward()
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_xflip_only_at_p_one_flips_exactly() -> None:
    x = torch.randn(16, 3, 8, 8)
    y = only("xflip")(x, generator=torch.Generator().manual_seed(0))
    flipped = [torch.equal(y[i], x[i].flip(-1)) for i in range(16)]
    kept = [torch.equal(y[i], x[i]) for i in range(16)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert any(flipped) and any(kept)  # each image flips with probability 1/2


def test_rotate90_and_integer_translation_are_exact_permutations() -> None:
    x = torch.randn(8, 3, 8, 8)
    rotated = only("rotate90")(x, generator=torch.Generator().manual_seed(1))
    for i in range(8):
        assert any(torch.equal(rotated[i], torch.rot90(x[i], k, dims=(1, 2))) for k in range(4))
    shifted = only("xint")(x, generator=torch.Generator().manual_seed(2))
    values = torch.sort(shifted.flatten(1), dim=1).values
    assert torch.isin(values, x).all()  # only original pixel values, moved around


def test_general_warp_keeps_smooth_images_recognisable() -> None:
    x = smooth_images(4)
    y = only("scale")(x, generator=torch.Generator().manual_seed(0))
    assert (y - x).abs().mean() < 0.3 and torch.isfinite(y).all()


def test_grayscale_full_pipeline() -> None:
    x = torch.randn(4, 1, 16, 16, requires_grad=True)
    y = AdaptiveAugment(initial_p=1.0)(x, generator=torch.Generator().manual_seed(0))
    y.square().sum().backward()
    assert y.shape == (4, 1, 16, 16) and torch.isfinite(x.grad).all()


def test_colour_transforms_change_colour_not_geometry() -> None:
    x = smooth_images(4)
    y = only("saturation")(x, generator=torch.Generator().manual_seed(0))
    grey = x.mean(dim=1, keepdim=True)
    torch.testing.assert_close(y.mean(dim=1, keepdim=True), grey, rtol=1e-4, atol=1e-5)  # luma kept


def test_generator_makes_augmentation_reproducible() -> None:
    x, aug = torch.randn(4, 3, 16, 16), AdaptiveAugment(initial_p=0.8)
    a = aug(x, generator=torch.Generator().manual_seed(5))
    b = aug(x, generator=torch.Generator().manual_seed(5))
    c = aug(x, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_dtype_preserved_under_autocast() -> None:
    x = torch.randn(2, 3, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = AdaptiveAugment(initial_p=1.0)(x)
    assert y.dtype == torch.float32


def feed(controller: AdaController, sign: float, batches: int, batch: int = 8) -> None:
    for _ in range(batches):
        controller.accumulate(torch.full((batch, 1), sign))


def test_controller_raises_p_when_d_overfits_and_lowers_it_otherwise() -> None:
    aug = AdaptiveAugment(initial_p=0.5)
    ctl = AdaController(augment=aug, batch_size=8, target=0.6, interval=4, ada_kimg=1.0)
    step = 8 * 4 / 1000
    feed(ctl, +1.0, 3)
    assert ctl.p == pytest.approx(0.5) and ctl.r_t is None  # not yet a full interval
    feed(ctl, +1.0, 1)
    assert ctl.r_t == pytest.approx(1.0) and ctl.p == pytest.approx(0.5 + step)
    feed(ctl, -1.0, 4)
    assert ctl.r_t == pytest.approx(-1.0) and ctl.p == pytest.approx(0.5)


def test_controller_keeps_p_in_unit_interval() -> None:
    aug = AdaptiveAugment(initial_p=0.0)
    ctl = AdaController(augment=aug, batch_size=64, interval=4, ada_kimg=0.1)
    feed(ctl, -1.0, 8, batch=64)
    assert ctl.p == 0.0
    feed(ctl, +1.0, 40, batch=64)
    assert ctl.p == 1.0


def test_fixed_and_noaug_modes() -> None:
    fixed = AdaController(augment=AdaptiveAugment(initial_p=0.3), batch_size=8, mode="fixed", ada_kimg=0.1)
    feed(fixed, +1.0, 8)
    assert fixed.p == pytest.approx(0.3) and fixed.r_t == pytest.approx(1.0)
    noaug = AdaController(augment=AdaptiveAugment(initial_p=0.3), batch_size=8, mode="noaug")
    feed(noaug, +1.0, 8)
    assert noaug.p == 0.0


def test_controller_state_round_trip() -> None:
    ctl = AdaController(augment=AdaptiveAugment(), batch_size=8, ada_kimg=1.0)
    feed(ctl, +1.0, 6)
    state = ctl.state_dict()
    other = AdaController(augment=AdaptiveAugment(), batch_size=8, ada_kimg=1.0)
    other.load_state_dict(state)
    assert other.p == pytest.approx(ctl.p) and other.r_t == ctl.r_t
    feed(ctl, +1.0, 2)
    feed(other, +1.0, 2)
    assert other.p == pytest.approx(ctl.p) and other.state_dict() == ctl.state_dict()
