"""StyleGAN2-ADA training presets ('--cfg') and builders for the networks they describe.

'auto', 'stylegan2', 'paper256' and 'cifar' follow the ADA paper's configurations (1 GPU for
'auto'); 'small' is ganfactory's own: a 2-mapping-layer, narrow network (32 maps at the output
resolution, 64 below) that trains at 32-64 px on a CPU in minutes, for the demo, the tests and
`--cfg auto` on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ganfactory.errors import ConfigError
from ganfactory.operators.stylegan.discriminator import Discriminator, DiscriminatorArchitecture
from ganfactory.operators.stylegan.networks import Generator

PRESET_NAMES: tuple[str, ...] = ("auto", "stylegan2", "paper256", "cifar", "small")


@dataclass(frozen=True)
class StyleGANPreset:
    """Everything a StyleGAN2-ADA run needs besides the data: architecture, optimiser, losses."""

    name: str
    resolution: int
    batch_size: int
    # Architecture.
    z_dim: int
    w_dim: int
    mapping_layers: int  # G mapping depth; D's label mapping uses the same depth
    channel_base: int  # feature maps at resolution r: min(channel_base // r, channel_max)
    channel_max: int
    mbstd_group_size: int
    d_architecture: DiscriminatorArchitecture
    num_fp16_res: int  # top resolutions that may run in 16 bit under autocast
    conv_clamp: float | None
    # Optimiser (same for G and D): Adam(lr, betas, eps), before the lazy-regularisation correction.
    lr: float
    betas: tuple[float, float]
    eps: float
    # Losses and regularisation.
    gamma: float  # R1 weight
    r1_interval: int
    style_mixing_prob: float
    pl_weight: float
    pl_batch_shrink: int
    pl_decay: float
    pl_interval: int
    # Generator EMA: half-life in thousands of images, optionally ramped up with images seen.
    ema_kimg: float
    ema_rampup: float | None
    # ADA.
    ada_target: float
    ada_interval: int
    ada_kimg: float
    # Class conditioning: "concat" (StyleGAN2-ADA) or "transitional" (Shahbazi et al. 2022), whose weight on
    # the class ramps linearly from 0 at t_start_kimg to 1 at t_end_kimg (2,000 and 4,000 in the paper's
    # example, used by the paper presets when --conditioning transitional is asked for).
    conditioning: Literal["concat", "transitional"]
    t_start_kimg: float
    t_end_kimg: float
    # Weight of the mode-seeking term in G's loss (Mao et al. 2019); 0: off, as in the paper's presets.
    mode_seeking_weight: float
    # Data-efficient training beside ADA: DiffAugment (Zhao et al. 2020: colour, translation, cutout on every image
    # D sees, real and fake, and on G's fakes) and the LeCam regulariser's weight (Tseng et al. 2021; 0: off).
    diffaugment: bool = False
    lecam_weight: float = 0.0
    # Weight of the class-mismatch term: D also scores real images under a wrong label and is trained to call that
    # pair fake (the matching-aware loss of Reed et al. 2016 / StackGAN's wrong pairs, on D's projection head).
    class_mismatch_weight: float = 0.0
    # Weight of the dual projection's classification term (Han et al. 2021, P2GAN): cross-entropy of D's projection
    # scores over all classes, on real images for D and on generated images for G; 0: off.
    dual_projection_weight: float = 0.0
    # Highest resolution whose layers get G's per-pixel noise in training (StyleGAN's stochastic detail); None:
    # every layer (the paper), 0: none. Layers above it keep noise strength 0, so generation ignores their noise.
    noise_max_resolution: int | None = None


def _auto_batch(resolution: int) -> int:
    return max(min(min(4096 // resolution, 32), 64), 1)


def _auto_gamma(resolution: int, batch: int) -> float:
    return 0.0002 * resolution**2 / batch


def _common(resolution: int) -> dict:
    """Values shared by all presets (paper defaults)."""
    return dict(
        resolution=resolution, z_dim=512, w_dim=512, channel_max=512, d_architecture="resnet",
        num_fp16_res=4, conv_clamp=256.0, betas=(0.0, 0.99), eps=1e-8, r1_interval=16,
        style_mixing_prob=0.9, pl_weight=2.0, pl_batch_shrink=2, pl_decay=0.01, pl_interval=4,
        ada_target=0.6, ada_interval=4, ada_kimg=500.0, conditioning="concat", t_start_kimg=2000.0, t_end_kimg=4000.0,
        mode_seeking_weight=0.0,
    )  # fmt: skip


def _auto(resolution: int, batch: int | None) -> dict:
    # The auto formulas are evaluated with the batch actually used, so an explicit batch keeps
    # gamma, EMA and the mbstd group consistent with it.
    b = batch or _auto_batch(resolution)
    return dict(
        batch_size=b, mapping_layers=2, channel_base=16384 if resolution < 512 else 32768,
        mbstd_group_size=min(b, 4), lr=0.002 if resolution >= 1024 else 0.0025,
        gamma=_auto_gamma(resolution, b), ema_kimg=b * 10 / 32, ema_rampup=0.05,
    )  # fmt: skip


def _stylegan2(resolution: int, batch: int | None) -> dict:
    return dict(
        batch_size=32, mapping_layers=8, channel_base=32768, mbstd_group_size=4, lr=0.002,
        gamma=10.0, ema_kimg=10.0, ema_rampup=None,
    )  # fmt: skip


def _paper256(resolution: int, batch: int | None) -> dict:
    return dict(
        batch_size=64, mapping_layers=8, channel_base=16384, mbstd_group_size=8, lr=0.0025,
        gamma=1.0, ema_kimg=20.0, ema_rampup=None,
    )  # fmt: skip


def _cifar(resolution: int, batch: int | None) -> dict:
    return dict(
        batch_size=64, mapping_layers=2, channel_base=32768, mbstd_group_size=32, lr=0.0025,
        gamma=0.01, ema_kimg=500.0, ema_rampup=0.05, style_mixing_prob=0.0, pl_weight=0.0,
        d_architecture="orig",
    )  # fmt: skip


def _small(resolution: int, batch: int | None) -> dict:
    # Narrow so that a CPU trains tens of kimg in half an hour: 32 feature maps at the output resolution and 64
    # below it (channel_base = 32 x resolution, cap 64). At 32 px that is ~34 s/kimg on one AVX2 core against
    # ~85 s/kimg for 64 maps throughout (the old width of 128 at 32 px took ~120-450), and on 1,000 real digits
    # it learned the classes no slower per kimg (benchmarks/stylegan_digits.py, issue 14).
    # Path length regularisation and style mixing are off: over a few minutes of training they
    # cost time without a visible effect. gamma and EMA follow the 'auto' formulas.
    # ADA at the paper's speed (p from 0 to 1 in 500 kimg) never acts in a CPU run of 10-60 kimg: on 1,000
    # digits r_t passed the 0.6 target by 0.4 kimg and stayed at 0.7-0.85 while p reached only 0.0009 by
    # 0.8 kimg (0.011 by 10 kimg in issue 14). 20 kimg lets p follow the discriminator within such a run
    # (p 0.012 by 0.8 kimg in the same measurement); --ada-kimg overrides it.
    # Issue 14, measured on 1,000 real digits (benchmarks/stylegan_digits.py): D's minibatch std rated a batch of
    # copies of one generated digit as more real than a varied batch, so nothing resisted G's loss of variety
    # within each class. R1 gamma 1 instead of the auto rule's 0.0128 slowed it (diversity 0.62 against 0.55 at
    # 9 kimg, classes learned sooner) but a 30-minute run still ended at 0.56 (worst class 0.44, recall 0.04); the
    # mode-seeking term at 0.1 (Mao et al. 2019) kept every class as varied as the real digits (0.97-1.15, recall
    # 0.74 against the held-out digits' 0.92) with the real-data classifier still at 0.94 on its samples.
    # Issue 22: on real 28-px data (digits, Fashion-MNIST) the class was ignored for ~10 kimg because D's projection
    # head barely told the classes apart (class margin D(x, c) - D(x, wrong c) on real images 0.26-0.37 on digits,
    # ~0 on Fashion-MNIST at 4 kimg, against a real/fake gap of ~2.5): D separated real from fake by image quality
    # alone, so G got no class signal until its images were good. The class-mismatch term (real images under a
    # wrong label are fake pairs) trains the head from the first step: margin 2.2-2.7 and the classifier's accuracy
    # on samples 0.42/0.61/0.62 at 2/3/4 kimg against 0.20/0.21/0.17 (benchmarks/stylegan_quality.py). On
    # Fashion-MNIST weight 3 beat 1 (0.47/0.44 against 0.38/0.38 at 2/3 kimg, KID lower), hence 3.
    # LeCam at 0.1 (Tseng et al. 2021) helped on every figure at 2-3 kimg on Fashion-MNIST (with mismatch weight
    # 1, 3 kimg: class 0.43 against 0.38, variety 0.58 against 0.52, KID 0.93 [0.81, 1.02] against 1.59 [1.33,
    # 1.82]), hence on. DiffAugment stays an option: over the first kimg it slowed the class (0.25 against 0.38 at
    # 3 kimg) while keeping more variety (0.68 against 0.52); see benchmarks/results/issue22.
    b = batch or 16
    return dict(
        batch_size=b, z_dim=256, w_dim=256, mapping_layers=2, channel_base=32 * resolution, channel_max=64,
        mbstd_group_size=min(b, 4), lr=0.0025, gamma=1.0,
        ema_kimg=b * 10 / 32, ema_rampup=0.05, style_mixing_prob=0.0, pl_weight=0.0, ada_kimg=20.0,
        mode_seeking_weight=0.1, class_mismatch_weight=3.0, lecam_weight=0.1,
    )  # fmt: skip


_BUILDERS: dict[str, Callable[[int, int | None], dict]] = {
    "auto": _auto,
    "stylegan2": _stylegan2,
    "paper256": _paper256,
    "cifar": _cifar,
    "small": _small,
}


def cfg_for_device(cfg: str, device_type: str) -> str:
    """The preset that `cfg` names on this device: 'auto' is the ADA paper's one-GPU configuration, and on a
    CPU it means 'small' (the paper's auto has 512 feature maps per layer below 512 px: hours per kimg on a
    CPU, where 'small' takes under a minute). Every other name is taken as written."""
    return "small" if cfg == "auto" and device_type == "cpu" else cfg


def resolve_preset(
    cfg: str, resolution: int, batch_size: int | None = None, gamma: float | None = None
) -> StyleGANPreset:
    """The preset `cfg` at `resolution`; an explicit batch_size or gamma overrides the preset's.

    The minibatch-std group is capped at the batch size (it must divide the batch).
    """
    if cfg not in _BUILDERS:
        raise ConfigError(f"Unknown StyleGAN cfg '{cfg}'; choose one of {', '.join(PRESET_NAMES)}.")
    if resolution < 8 or 2 ** int(round(math.log2(resolution))) != resolution:
        raise ConfigError(f"Resolution {resolution} is not a power of two >= 8; use e.g. 32, 64 or 256.")
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"Batch size {batch_size} must be at least 1.")
    if gamma is not None and gamma < 0:
        raise ConfigError(f"R1 gamma {gamma} must be zero or positive.")
    values = {**_common(resolution), **_BUILDERS[cfg](resolution, batch_size)}
    if batch_size is not None:
        values["batch_size"] = batch_size
    if gamma is not None:
        values["gamma"] = float(gamma)
    values["mbstd_group_size"] = _largest_divisor(values["batch_size"], values["mbstd_group_size"])
    return StyleGANPreset(name=cfg, **values)


def _largest_divisor(n: int, at_most: int) -> int:
    g = max(1, min(n, at_most))
    while n % g:
        g -= 1
    return g


def ema_beta(*, preset: StyleGANPreset, images_seen: int) -> float:
    """Per-step EMA decay of G: half-life ema_kimg thousand images, ramped up early in training."""
    ema_nimg = preset.ema_kimg * 1000
    if preset.ema_rampup is not None:
        ema_nimg = min(ema_nimg, images_seen * preset.ema_rampup)
    return 0.5 ** (preset.batch_size / max(ema_nimg, 1e-8))


def transition_weight(*, preset: StyleGANPreset, kimg: float) -> float:
    """Weight of the class under transitional conditioning at `kimg` thousand images: 0 until t_start_kimg,
    then linear to 1 at t_end_kimg (Shahbazi et al. 2022); 1 under "concat"."""
    if preset.conditioning != "transitional":
        return 1.0
    if preset.t_end_kimg <= preset.t_start_kimg:
        return 1.0 if kimg >= preset.t_start_kimg else 0.0
    return min(max((kimg - preset.t_start_kimg) / (preset.t_end_kimg - preset.t_start_kimg), 0.0), 1.0)


def build_generator(
    preset: StyleGANPreset, *, num_classes: int, img_channels: int, channels_last: bool = True
) -> Generator:
    return Generator(
        z_dim=preset.z_dim, w_dim=preset.w_dim, num_classes=num_classes,
        resolution=preset.resolution, img_channels=img_channels, channel_base=preset.channel_base,
        channel_max=preset.channel_max, mapping_layers=preset.mapping_layers,
        num_fp16_res=preset.num_fp16_res, conv_clamp=preset.conv_clamp, channels_last=channels_last,
        conditioning=preset.conditioning,
    )  # fmt: skip


def build_discriminator(
    preset: StyleGANPreset, *, num_classes: int, img_channels: int, channels_last: bool = True
) -> Discriminator:
    return Discriminator(
        num_classes=num_classes, resolution=preset.resolution, img_channels=img_channels,
        channel_base=preset.channel_base, channel_max=preset.channel_max,
        mbstd_group_size=preset.mbstd_group_size, architecture=preset.d_architecture,
        mapping_layers=preset.mapping_layers, num_fp16_res=preset.num_fp16_res,
        conv_clamp=preset.conv_clamp, channels_last=channels_last, conditioning=preset.conditioning,
    )  # fmt: skip

