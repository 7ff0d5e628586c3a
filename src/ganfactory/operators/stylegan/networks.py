"""StyleGAN2 generator (skip architecture), as used by StyleGAN2-ADA (the discriminator: discriminator.py).

Written from Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" and
"Training Generative Adversarial Networks with Limited Data".

Speed choices (training runs on CPUs too):
* Modulated convolutions are computed without per-sample weights: the activations are scaled by the
  styles, one ordinary batched convolution runs with the shared weight, and the outputs are scaled by
  the demodulation coefficients. This is the cheapest form for channels_last tensors and the same
  maths as folding styles into grouped-conv weights; it also exports to ONNX as a plain Conv.
* Demodulation coefficients come from one small matmul (styles^2 @ sum_k w^2), never from a
  [batch, out, in, k, k] tensor.
* Styles, demodulation, the mapping network and the lowest resolutions run in fp32 even under
  autocast; only the big convolutions of the top `num_fp16_res` resolutions run in 16 bit, with their
  activations clamped to +-conv_clamp as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganfactory.nn.layers import (
    LRELU_GAIN,
    EqualizedLinear,
    apply_activation,
    conv_kernel,
    conv_weight,
    fir_filter2d,
    fir_kernel,
    full_precision_scope,
    normalize_2nd_moment,
    sum_of_squares,
    upsample2d,
)

NoiseMode = Literal["random", "const", "none"]
Conditioning = Literal["concat", "transitional"]
CONDITIONINGS: tuple[str, ...] = ("concat", "transitional")
NOISE_MODES: tuple[str, ...] = ("random", "const", "none")
DEFAULT_TAPS: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)


def channels_at(resolution: int, *, channel_base: int, channel_max: int) -> int:
    """Feature maps at a resolution: channel_base / resolution, capped at channel_max."""
    return min(channel_base // resolution, channel_max)


def check_resolution(resolution: int) -> int:
    """log2 of a power-of-two resolution of at least 8; a clear error otherwise."""
    log2 = int(round(math.log2(resolution))) if resolution > 0 else 0
    if resolution < 8 or 2**log2 != resolution:
        raise ValueError(f"resolution must be a power of two >= 8, got {resolution}")
    return log2


def fp16_resolution(*, log2_resolution: int, num_fp16_res: int) -> int:
    """Lowest resolution allowed to run in reduced precision; 4x4 always stays in fp32."""
    return max(2 ** (log2_resolution + 1 - num_fp16_res), 8)


def check_labels(c: Tensor | None, *, num_classes: int, batch: int) -> None:
    if num_classes == 0:
        if c is not None:
            raise ValueError("this network is unconditional: pass c=None")
        return
    if c is None:
        raise ValueError(f"this network is conditional on {num_classes} classes: pass labels c")
    if c.shape[0] != batch:
        raise ValueError(f"got {c.shape[0]} labels for a batch of {batch}")


def to_memory_format(x: Tensor, channels_last: bool) -> Tensor:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x if x.is_contiguous(memory_format=fmt) else x.contiguous(memory_format=fmt)


# ------------------------------------------------------------------------------------------ mapping


class ClassEmbedding(nn.Module):
    """Equalised-lr linear map of one-hot labels, computed as a table lookup for integer labels.

    Float labels [B, num_classes] (one-hot or soft, e.g. for interpolating between classes) are
    accepted too and go through the same table as a matmul.
    """

    def __init__(self, *, num_classes: int, dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.randn(num_classes, dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.weight_gain = 1.0 / math.sqrt(num_classes)

    def forward(self, c: Tensor) -> Tensor:
        table = self.weight * self.weight_gain
        if c.dtype.is_floating_point:
            return c.float() @ table + self.bias
        return F.embedding(c.long(), table) + self.bias


class MappingNetwork(nn.Module):
    """z (and class) -> w: normalised inputs, `num_layers` leaky-ReLU FC layers at lr x 0.01.

    With `num_ws` set the output is broadcast to [B, num_ws, w_dim] and truncation is available;
    `w_avg_beta` enables the running mean of w that truncation pulls towards. With z_dim=0 and
    num_ws=None it is the discriminator's label mapping.

    Class conditioning ("concat", StyleGAN2-ADA): the normalised class embedding is concatenated to z.
    "transitional" (Shahbazi et al. 2022, "Collapse by Conditioning"): the first layer sees z alone and
    the embedding, through its own FC layer, is added to that layer's output times the buffer
    `transition` (0: the network ignores the class; 1: fully conditional), which training ramps up.
    """

    transition: Tensor  # buffers (register_buffer), declared for the type checker
    w_avg: Tensor

    def __init__(
        self,
        *,
        z_dim: int,
        w_dim: int,
        num_classes: int,
        num_ws: int | None,
        num_layers: int = 8,
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.995,
        conditioning: Conditioning = "concat",
    ) -> None:
        super().__init__()
        if z_dim == 0 and num_classes == 0:
            raise ValueError("a mapping network needs z_dim > 0 or num_classes > 0")
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        self.z_dim, self.w_dim, self.num_classes = z_dim, w_dim, num_classes
        self.num_ws, self.w_avg_beta = num_ws, w_avg_beta
        self.embed = ClassEmbedding(num_classes=num_classes, dim=w_dim) if num_classes else None
        self.transitional = conditioning == "transitional" and z_dim > 0 and num_classes > 0
        self.class_projection = None
        if self.transitional:
            self.class_projection = EqualizedLinear(w_dim, w_dim, activation="lrelu", lr_multiplier=lr_multiplier)
            self.register_buffer("transition", torch.zeros([]))
        in_features = z_dim + (w_dim if num_classes and not self.transitional else 0)
        self.layers = nn.Sequential(
            *(
                EqualizedLinear(
                    in_features if i == 0 else w_dim,
                    w_dim,
                    activation="lrelu",
                    lr_multiplier=lr_multiplier,
                )
                for i in range(num_layers)
            )
        )
        if w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def _inputs(self, z: Tensor | None, c: Tensor | None) -> Tensor:
        parts = []
        if self.z_dim:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape [batch, {self.z_dim}]")
            parts.append(normalize_2nd_moment(z.float()))
        batch = z.shape[0] if z is not None else (0 if c is None else c.shape[0])
        check_labels(c, num_classes=self.num_classes, batch=batch)
        if self.embed is not None and c is not None:
            parts.append(normalize_2nd_moment(self.embed(c)))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(
        self,
        z: Tensor | None,
        c: Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        *,
        update_emas: bool = False,
    ) -> Tensor:
        ref = z if z is not None else c
        assert ref is not None, "the mapping network needs z or c"
        with full_precision_scope(ref, enabled=True):
            x = self._transitional_layers(z, c) if self.transitional else self.layers(self._inputs(z, c))
            if update_emas and self.w_avg_beta is not None:
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
            if self.num_ws is None:
                return x
            ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
            if truncation_psi != 1.0:
                ws = self._truncate(ws, psi=truncation_psi, cutoff=truncation_cutoff)
        return ws

    def _transitional_layers(self, z: Tensor | None, c: Tensor | None) -> Tensor:
        if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [batch, {self.z_dim}]")
        check_labels(c, num_classes=self.num_classes, batch=z.shape[0])
        x = self.layers[0](normalize_2nd_moment(z.float()))
        assert self.class_projection is not None and self.embed is not None and c is not None
        x = x + self.transition * self.class_projection(normalize_2nd_moment(self.embed(c)))
        return self.layers[1:](x)

    def _truncate(self, ws: Tensor, *, psi: float, cutoff: int | None) -> Tensor:
        if self.w_avg_beta is None:
            raise ValueError("truncation needs a mapping network that tracks w_avg")
        truncated = self.w_avg.lerp(ws, psi)
        if cutoff is None or cutoff >= ws.shape[1]:
            return truncated
        return torch.cat([truncated[:, :cutoff], ws[:, cutoff:]], dim=1)


# ---------------------------------------------------------------------------------------- synthesis


def demodulation_coefficients(weight: Tensor, styles: Tensor, *, eps: float = 1e-8) -> Tensor:
    """1 / ||weight * style||_2 per (sample, output channel), shape [B, out].

    `weight` is a stored kernel, [out, k, k, in] (or [in, k, k, out] for the up-sampling layer,
    see `transposed_layout`). sum_{i,k} (w[o,k,i] s[b,i])^2 = sum_i s[b,i]^2 * (sum_k w[o,k,i]^2):
    one [B, in] x [in, out] matmul instead of a [B, out, in, k, k] tensor.
    """
    wsq = sum_of_squares(weight, dims=(1, 2))  # [out, in]
    return torch.addmm(torch.full([], eps, dtype=wsq.dtype, device=wsq.device), styles * styles,
                       wsq.t()).rsqrt()  # fmt: skip


def _up_filter_pad(taps: int, kernel_size: int) -> list[int]:
    """FIR padding after a stride-2 transpose conv so that the output is exactly 2x the input."""
    p = taps - 2 - (kernel_size - 1)
    lo, hi = (p + 1) // 2 + 1, p // 2 + 1
    return [lo, hi, lo, hi]


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x up-sampling) + per-pixel noise + bias + leaky ReLU."""

    noise_const: Tensor  # buffers (register_buffer), declared for the type checker
    resample_kernel: Tensor

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        up: int = 1,
        kernel_size: int = 3,
        conv_clamp: float | None = None,
        resample_taps: Sequence[float] = DEFAULT_TAPS,
    ) -> None:
        super().__init__()
        if up not in (1, 2):
            raise ValueError(f"up must be 1 or 2, got {up}")
        self.in_channels, self.out_channels, self.up = in_channels, out_channels, up
        self.resolution, self.kernel_size, self.conv_clamp = resolution, kernel_size, conv_clamp
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        # Stored [out, k, k, in] (see conv_weight); the up-sampling layer keeps the transposed
        # convolution's [in, k, k, out] instead, so that its kernel needs no layout copy either.
        shape = (in_channels, out_channels) if up == 2 else (out_channels, in_channels)
        self.weight = conv_weight(*shape, kernel_size)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        # Fixed noise images for deterministic generation and export ('const' mode).
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.register_buffer("resample_kernel", fir_kernel(resample_taps), persistent=False)

    def _styles(self, w: Tensor, *, fp16: bool) -> tuple[Tensor, Tensor]:
        """Styles [B, in] and gain-folded demodulation coefficients [B, out], both fp32.

        The equalised-lr weight gain is folded into the styles (a [B, in] tensor) instead of the
        weight, which is then used as stored: no scaled copy of the kernel per step.
        """
        with full_precision_scope(w, enabled=True):
            styles = self.affine(w.float()) * self.weight_gain
            if fp16:
                # Demodulation makes the output invariant to the style scale; normalising keeps
                # x * styles inside the float16 range.
                styles = styles / styles.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)
            weight = self.weight.transpose(0, 3) if self.up == 2 else self.weight
            dcoefs = demodulation_coefficients(weight, styles) * LRELU_GAIN
        return styles, dcoefs

    def _conv(self, x: Tensor, weight: Tensor) -> Tensor:
        if self.up == 1:
            return F.conv2d(x, weight, padding=self.kernel_size // 2)
        # Transposed stride-2 conv computes at the input resolution (4x cheaper than conv after
        # up-sampling); the FIR filter then removes the zero-insertion images.
        y = F.conv_transpose2d(x, weight, stride=2)
        pad = _up_filter_pad(self.resample_kernel.shape[-1], self.kernel_size)
        return fir_filter2d(y, self.resample_kernel, pad=pad, gain=4.0)

    def _noise(self, y: Tensor, noise_mode: str) -> Tensor | None:
        if noise_mode == "random":
            return torch.randn([y.shape[0], 1, y.shape[2], y.shape[3]], device=y.device, dtype=y.dtype)
        if noise_mode == "const":
            return self.noise_const.to(y.dtype)
        if noise_mode == "none":
            return None
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")

    def forward(self, x: Tensor, w: Tensor, *, noise_mode: str = "random") -> Tensor:
        styles, dcoefs = self._styles(w, fp16=x.dtype == torch.float16 or _autocast_fp16(x))
        x = x * styles.to(x.dtype)[:, :, None, None]
        weight = conv_kernel(self.weight)
        y = self._conv(x, weight if torch.is_autocast_enabled(x.device.type) else weight.to(x.dtype))
        # (y * d + noise * strength + bias) * sqrt(2), then leaky ReLU: gain folded into the terms.
        bias = (self.bias * LRELU_GAIN).to(y.dtype)[None, :, None, None]
        y = torch.addcmul(bias, y, dcoefs.to(y.dtype)[:, :, None, None])
        noise = self._noise(y, noise_mode)
        if noise is not None:
            y = y.addcmul_(noise, (self.noise_strength * LRELU_GAIN).to(y.dtype))
        y = F.leaky_relu_(y, 0.2)
        return apply_activation(y, activation="linear", clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return f"{self.in_channels}->{self.out_channels}, res={self.resolution}, up={self.up}"


def _autocast_fp16(x: Tensor) -> bool:
    dev = x.device.type
    return torch.is_autocast_enabled(dev) and torch.get_autocast_dtype(dev) == torch.float16


class ToRGB(nn.Module):
    """Modulated 1x1 conv to image channels without demodulation, plus bias.

    Computed as a per-sample matmul on the channels_last activations ([B,HW,C] @ [B,C,img]), so the
    wide activation tensor is read once and never scaled elementwise.
    """

    def __init__(
        self, *, in_channels: int, img_channels: int, w_dim: int, conv_clamp: float | None = None
    ) -> None:
        super().__init__()
        self.in_channels, self.img_channels, self.conv_clamp = in_channels, img_channels, conv_clamp
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, in_channels))
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        with full_precision_scope(w, enabled=True):
            styles = self.affine(w.float()) * self.weight_gain
            wmod = styles[:, :, None] * self.weight.t()[None]  # [B, in, img]
        if not torch.is_autocast_enabled(x.device.type):
            wmod = wmod.to(x.dtype)
        # [B, H*W, C] is a view of a channels_last tensor; the result is channels_last again.
        y = torch.bmm(x.permute(0, 2, 3, 1).flatten(1, 2), wmod)
        y = y.unflatten(1, (x.shape[2], x.shape[3])).permute(0, 3, 1, 2)
        y = y + self.bias.to(y.dtype)[None, :, None, None]
        return apply_activation(y, activation="linear", clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: [learned 4x4 constant | up-sampling layer], a layer, and a toRGB skip."""

    resample_kernel: Tensor  # buffers (register_buffer), declared for the type checker

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        reduced_precision: bool,
        conv_clamp: float | None,
        channels_last: bool,
        resample_taps: Sequence[float] = DEFAULT_TAPS,
    ) -> None:
        super().__init__()
        self.resolution, self.reduced_precision, self.channels_last = (
            resolution,
            reduced_precision,
            channels_last,
        )
        layer_args: dict[str, Any] = dict(w_dim=w_dim, resolution=resolution, conv_clamp=conv_clamp)
        if in_channels == 0:
            self.const: nn.Parameter | None = nn.Parameter(torch.randn(out_channels, resolution, resolution))
            self.conv0 = None
        else:
            self.const = None
            self.conv0 = SynthesisLayer(
                in_channels=in_channels, out_channels=out_channels, up=2,
                resample_taps=resample_taps, **layer_args,
            )  # fmt: skip
        self.conv1 = SynthesisLayer(in_channels=out_channels, out_channels=out_channels, **layer_args)
        self.torgb = ToRGB(
            in_channels=out_channels, img_channels=img_channels, w_dim=w_dim, conv_clamp=conv_clamp
        )
        self.register_buffer("resample_kernel", fir_kernel(resample_taps), persistent=False)
        self.num_conv = 1 if self.conv0 is None else 2
        self.num_torgb = 1

    def forward(
        self, x: Tensor | None, img: Tensor | None, ws: Sequence[Tensor], *, noise_mode: str
    ) -> tuple[Tensor, Tensor]:
        with full_precision_scope(ws[0], enabled=not self.reduced_precision):
            if self.const is not None:
                x = self.const.unsqueeze(0).expand(ws[0].shape[0], -1, -1, -1)
                x = to_memory_format(x, self.channels_last)
            elif not self.reduced_precision:
                assert x is not None, "a block without a constant takes the previous block's features"
                x = x.float()
            w_iter = iter(ws)
            if self.conv0 is not None:
                x = self.conv0(x, next(w_iter), noise_mode=noise_mode)
            x = self.conv1(x, next(w_iter), noise_mode=noise_mode)
            y = self.torgb(x, next(w_iter)).float()
        img = y if img is None else upsample2d(img, self.resample_kernel) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [B, num_ws, w_dim] -> image [B, img_channels, R, R] (fp32, roughly in [-1, 1])."""

    def __init__(
        self,
        *,
        w_dim: int,
        resolution: int,
        img_channels: int,
        channel_base: int,
        channel_max: int,
        num_fp16_res: int = 4,
        conv_clamp: float | None = 256.0,
        channels_last: bool = True,
        resample_taps: Sequence[float] = DEFAULT_TAPS,
    ) -> None:
        super().__init__()
        log2 = check_resolution(resolution)
        self.w_dim, self.resolution, self.img_channels = w_dim, resolution, img_channels
        lowest_reduced = fp16_resolution(log2_resolution=log2, num_fp16_res=num_fp16_res)
        blocks: list[SynthesisBlock] = []
        for res in (2**i for i in range(2, log2 + 1)):
            blocks.append(
                SynthesisBlock(
                    in_channels=0 if res == 4 else channels_at(
                        res // 2, channel_base=channel_base, channel_max=channel_max),
                    out_channels=channels_at(res, channel_base=channel_base, channel_max=channel_max),
                    w_dim=w_dim, resolution=res, img_channels=img_channels,
                    reduced_precision=num_fp16_res > 0 and res >= lowest_reduced,
                    conv_clamp=conv_clamp, channels_last=channels_last, resample_taps=resample_taps,
                )
            )  # fmt: skip
        self.blocks = nn.ModuleList(blocks)
        # The toRGB of one block shares its w with the first conv of the next block.
        self.num_ws = sum(b.num_conv for b in blocks) + blocks[-1].num_torgb

    def forward(self, ws: Tensor, noise_mode: str = "random", *, noise_max_resolution: int | None = None) -> Tensor:
        """noise_max_resolution: blocks above this resolution get no per-pixel noise (as noise_mode "none");
        None: every block follows noise_mode. Training uses it to keep noise out of the top layers, whose noise
        strengths then stay 0, so generation is unchanged by the noise mode there."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must have shape [batch, {self.num_ws}, {self.w_dim}]")
        w_list = ws.unbind(dim=1)
        x = img = None
        index = 0
        for block in cast(list[SynthesisBlock], self.blocks):
            block_ws = w_list[index : index + block.num_conv + block.num_torgb]
            quiet = noise_max_resolution is not None and block.resolution > noise_max_resolution
            x, img = block(x, img, block_ws, noise_mode="none" if quiet else noise_mode)
            index += block.num_conv
        assert img is not None  # the 4x4 block always writes an image
        return img


class Generator(nn.Module):
    """StyleGAN2 generator: mapping network + synthesis network.

    `G(z, c)` is `G.synthesis(G.mapping(z, c, psi, cutoff), noise_mode)`; the two halves are public
    for style mixing, interpolation in W and projection. `c` holds integer class labels [B]
    (or float one-hot/soft labels [B, num_classes]) and must be None for an unconditional model.
    """

    def __init__(
        self,
        *,
        z_dim: int = 512,
        w_dim: int = 512,
        num_classes: int = 0,
        resolution: int,
        img_channels: int = 3,
        channel_base: int = 32768,
        channel_max: int = 512,
        mapping_layers: int = 8,
        mapping_lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.995,
        num_fp16_res: int = 4,
        conv_clamp: float | None = 256.0,
        channels_last: bool = True,
        resample_taps: Sequence[float] = DEFAULT_TAPS,
        conditioning: Conditioning = "concat",
    ) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.num_classes = z_dim, w_dim, num_classes
        self.resolution, self.img_channels = resolution, img_channels
        self.synthesis = SynthesisNetwork(
            w_dim=w_dim, resolution=resolution, img_channels=img_channels,
            channel_base=channel_base, channel_max=channel_max, num_fp16_res=num_fp16_res,
            conv_clamp=conv_clamp, channels_last=channels_last, resample_taps=resample_taps,
        )  # fmt: skip
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=z_dim, w_dim=w_dim, num_classes=num_classes, num_ws=self.num_ws,
            num_layers=mapping_layers, lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta,
            conditioning=conditioning,
        )  # fmt: skip

    def forward(
        self,
        z: Tensor,
        c: Tensor | None = None,
        *,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "random",
        update_emas: bool = False,
    ) -> Tensor:
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff, update_emas=update_emas)
        return self.synthesis(ws, noise_mode=noise_mode)
