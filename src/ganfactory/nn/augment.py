"""Adaptive discriminator augmentation (Karras et al. 2020, "Training GANs with Limited Data").

The 'bgc' pipeline: blits (x-flip, 90-degree rotations, integer translation), general geometric
transforms (isotropic scale, rotation, anisotropic scale, fractional translation) and colour
transforms (brightness, contrast, luma flip, hue rotation, saturation). Every transform is applied
to each image independently with probability p (times its multiplier), so D sees augmented images
with a probability it can learn to "see through" only when p stays below ~0.8.

All geometric transforms of an image are composed into one 3x3 matrix and resampled once:
reflect-pad, 2x up-sample with a low-pass FIR, bilinear grid_sample, FIR 2x down-sample. The colour
ones form one 4x4 matrix on homogeneous RGB. Everything is differentiable w.r.t. the images
(G is trained through it) and exactly the identity when p == 0.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganfactory.nn.layers import downsample2d, fir_kernel, full_precision_scope, upsample2d

# Magnitudes of the 'bgc' pipeline (paper, appendix B).
XINT_MAX = 0.125  # integer translation, fraction of the image size
SCALE_STD = 0.2  # isotropic scale: 2 ** N(0, 0.2), i.e. lognormal with std 0.2 ln 2
ROTATE_MAX = 1.0  # rotation angle uniform in +-pi * ROTATE_MAX
ANISO_STD = 0.2
XFRAC_STD = 0.125
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5
HUE_MAX = 1.0
SATURATION_STD = 1.0
AdaMode = Literal["ada", "fixed", "noaug"]


def lowpass_taps(num_taps: int = 12, *, beta: float = 4.0) -> list[float]:
    """Kaiser-windowed half-band sinc: the interpolation filter for the 2x geometric resampling."""
    n = np.arange(num_taps) - (num_taps - 1) / 2
    h = np.sinc(n / 2) * np.kaiser(num_taps, beta)
    h = (h + h[::-1]) / 2  # exact symmetry, which the FIR helpers require
    return (h / h.sum()).tolist()


# ------------------------------------------------------------------------------- matrix builders


def _matrix(rows: list[list[Tensor | float]], ref: Tensor) -> Tensor:
    """Stack per-sample entries (tensors [B] or constants) into [B, n, n]."""
    out = [torch.broadcast_to(torch.as_tensor(v, dtype=ref.dtype, device=ref.device), ref.shape)
           for row in rows for v in row]  # fmt: skip
    n = len(rows)
    return torch.stack(out, dim=-1).reshape(ref.shape[0], n, n)


def translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx)


def scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx)


def rotate2d(theta: Tensor) -> Tensor:
    c, s = theta.cos(), theta.sin()
    return _matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]], theta)


def translate3d(t: Tensor) -> Tensor:
    return _matrix([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], t)


def scale3d(s: Tensor) -> Tensor:
    return _matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], s)


def rotate_about_luma(theta: Tensor) -> Tensor:
    """4x4 rotation of RGB around the grey axis (1,1,1)/sqrt(3) by theta (Rodrigues' formula)."""
    a = 1 / math.sqrt(3)
    opts: dict[str, Any] = dict(dtype=theta.dtype, device=theta.device)
    cross = torch.tensor([[0, -a, a], [a, 0, -a], [-a, a, 0]], **opts)  # [v]_x
    vvt = torch.full([3, 3], 1 / 3, **opts)
    c, s = theta.cos()[:, None, None], theta.sin()[:, None, None]
    r3 = c * torch.eye(3, **opts) + s * cross + (1 - c) * vvt
    return F.pad(r3, [0, 1, 0, 1]) + _homogeneous_unit(theta)


def _homogeneous_unit(ref: Tensor) -> Tensor:
    """diag(0, 0, 0, 1): keeps the homogeneous coordinate of colour matrices at 1."""
    e = torch.zeros(4, 4, dtype=ref.dtype, device=ref.device)
    e[3, 3] = 1
    return e


# ------------------------------------------------------------------------------------- pipeline


class AdaptiveAugment(nn.Module):
    """The 'bgc' augmentation pipeline with a probability buffer `p` (a scalar tensor).

    Multipliers scale p per transform (1 = paper's bgc; 0 disables that transform). `forward`
    accepts an optional torch.Generator (on the images' device) for reproducible draws.
    """

    p: Tensor  # buffers (register_buffer), declared for the type checker
    geom_kernel: Tensor

    def __init__(
        self,
        *,
        initial_p: float = 0.0,
        xflip: float = 1.0,
        rotate90: float = 1.0,
        xint: float = 1.0,
        scale: float = 1.0,
        rotate: float = 1.0,
        aniso: float = 1.0,
        xfrac: float = 1.0,
        brightness: float = 1.0,
        contrast: float = 1.0,
        lumaflip: float = 1.0,
        hue: float = 1.0,
        saturation: float = 1.0,
        filter_taps: int = 12,
    ) -> None:
        super().__init__()
        self.xflip, self.rotate90, self.xint = xflip, rotate90, xint
        self.scale, self.rotate, self.aniso, self.xfrac = scale, rotate, aniso, xfrac
        self.brightness, self.contrast, self.lumaflip = brightness, contrast, lumaflip
        self.hue, self.saturation = hue, saturation
        self.register_buffer("p", torch.tensor(float(initial_p)))
        self.register_buffer("geom_kernel", fir_kernel(lowpass_taps(filter_taps)), persistent=False)

    @property
    def uses_geometry(self) -> bool:
        return any(m > 0 for m in (self.xflip, self.rotate90, self.xint, self.scale, self.rotate,
                                   self.aniso, self.xfrac))  # fmt: skip

    @property
    def uses_color(self) -> bool:
        return any(m > 0 for m in (self.brightness, self.contrast, self.lumaflip, self.hue,
                                   self.saturation))  # fmt: skip

    def forward(self, images: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        p = float(self.p)
        if p <= 0.0:
            return images  # fast path, exactly the identity
        if images.ndim != 4:
            raise ValueError(f"images must be [batch, channels, height, width], got {list(images.shape)}")
        with full_precision_scope(images, enabled=True):
            x = images.float()
            if self.uses_geometry:
                x = self._transform(x, self._geometric_matrix(x, p, generator))
            if self.uses_color:
                x = self._recolor(x, self._color_matrix(x, p, generator))
        return x.to(images.dtype)

    # ------------------------------------------------------------------------------- sampling

    @staticmethod
    def _gate(values: Tensor, identity: float, prob: float, gen: torch.Generator | None) -> Tensor:
        """Keep each sample's value with probability `prob`, else the transform's identity value."""
        keep = torch.rand(values.shape[0], generator=gen, device=values.device) < min(prob, 1.0)
        keep = keep.reshape([-1] + [1] * (values.ndim - 1))
        return torch.where(keep, values, torch.full_like(values, identity))

    def _geometric_matrix(self, x: Tensor, p: float, gen: torch.Generator | None) -> Tensor:
        """Inverse transform [B, 3, 3]: output pixel (centred coordinates) -> input pixel."""
        b, _, h, w = x.shape
        dev = x.device

        def rand(*shape: int) -> Tensor:
            return torch.rand(shape, generator=gen, device=dev)

        def randn(*shape: int) -> Tensor:
            return torch.randn(shape, generator=gen, device=dev)

        m = torch.eye(3, device=dev).repeat(b, 1, 1)
        if self.xflip > 0:
            flip = self._gate(torch.floor(rand(b) * 2), 0.0, p * self.xflip, gen)
            m = m @ scale2d(1 - 2 * flip, torch.ones(b, device=dev))
        if self.rotate90 > 0:
            quarter = self._gate(torch.floor(rand(b) * 4), 0.0, p * self.rotate90, gen)
            m = m @ rotate2d(-math.pi / 2 * quarter)
        if self.xint > 0:
            t = self._gate((rand(b, 2) * 2 - 1) * XINT_MAX, 0.0, p * self.xint, gen)
            m = m @ translate2d(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h))
        if self.scale > 0:
            s = self._gate(torch.exp2(randn(b) * SCALE_STD), 1.0, p * self.scale, gen)
            m = m @ scale2d(1 / s, 1 / s)
        # Two rotations, each with p_rot = 1 - sqrt(1 - p): at least one happens with probability p.
        p_rot = 1 - math.sqrt(max(1 - min(p * self.rotate, 1.0), 0.0))
        if self.rotate > 0:
            m = m @ rotate2d(-self._gate((rand(b) * 2 - 1) * math.pi * ROTATE_MAX, 0.0, p_rot, gen))
        if self.aniso > 0:
            s = self._gate(torch.exp2(randn(b) * ANISO_STD), 1.0, p * self.aniso, gen)
            m = m @ scale2d(1 / s, s)
        if self.rotate > 0:
            m = m @ rotate2d(-self._gate((rand(b) * 2 - 1) * math.pi * ROTATE_MAX, 0.0, p_rot, gen))
        if self.xfrac > 0:
            t = self._gate(randn(b, 2) * XFRAC_STD, 0.0, p * self.xfrac, gen)
            m = m @ translate2d(-t[:, 0] * w, -t[:, 1] * h)
        return m

    def _color_matrix(self, x: Tensor, p: float, gen: torch.Generator | None) -> Tensor:
        """[B, 4, 4] acting on homogeneous RGB in the [-1, 1] pixel range."""
        b, dev = x.shape[0], x.device

        def rand(n: int) -> Tensor:
            return torch.rand(n, generator=gen, device=dev)

        def randn(n: int) -> Tensor:
            return torch.randn(n, generator=gen, device=dev)

        m = torch.eye(4, device=dev).repeat(b, 1, 1)
        v = torch.tensor([1, 1, 1, 0], dtype=torch.float32, device=dev) / math.sqrt(3)
        vvt = torch.outer(v, v)  # projector onto the luma axis
        eye = torch.eye(4, device=dev)
        chroma = eye - vvt - _homogeneous_unit(v)  # projector onto the chroma plane
        if self.brightness > 0:
            m = translate3d(self._gate(randn(b) * BRIGHTNESS_STD, 0.0, p * self.brightness, gen)) @ m
        if self.contrast > 0:
            m = scale3d(self._gate(torch.exp2(randn(b) * CONTRAST_STD), 1.0, p * self.contrast, gen)) @ m
        if self.lumaflip > 0:
            flip = self._gate(torch.floor(rand(b) * 2), 0.0, p * self.lumaflip, gen)
            m = (eye - 2 * vvt * flip[:, None, None]) @ m  # mirror luminance, keep chroma
        if self.hue > 0:
            theta = self._gate((rand(b) * 2 - 1) * math.pi * HUE_MAX, 0.0, p * self.hue, gen)
            m = rotate_about_luma(theta) @ m
        if self.saturation > 0:
            s = self._gate(torch.exp2(randn(b) * SATURATION_STD), 1.0, p * self.saturation, gen)
            m = (eye - chroma + chroma * s[:, None, None]) @ m
        return m

    # ------------------------------------------------------------------------------ application

    def _recolor(self, x: Tensor, m: Tensor) -> Tensor:
        b, c, h, w = x.shape
        pixels = x.reshape(b, c, h * w)
        if c == 3:
            out = torch.baddbmm(m[:, :3, 3:], m[:, :3, :3], pixels)
        elif c == 1:
            # A grey pixel is (g, g, g); transform it and take the mean of the resulting RGB.
            gain = m[:, :3, :3].sum(dim=2).mean(dim=1)
            offset = m[:, :3, 3].mean(dim=1)
            out = pixels * gain[:, None, None] + offset[:, None, None]
        else:
            raise ValueError(f"colour augmentation needs 1 or 3 channels, got {c}")
        return out.reshape(b, c, h, w)

    def _transform(self, x: Tensor, m: Tensor) -> Tensor:
        """Blits (flips, quarter turns, integer shifts: pixel permutations) are applied exactly by
        indexing; the other images go through the filtered warp. Most images are blits while p is
        small, which makes them both exact and cheap."""
        blit = (m - m.round()).abs().amax(dim=(1, 2)) < 1e-4
        if bool(blit.all()):
            return self._blit(x, m)
        if not bool(blit.any()):
            return self._warp(x, m)
        idx_blit, idx_warp = blit.nonzero().squeeze(1), (~blit).nonzero().squeeze(1)
        out = torch.cat([self._blit(x[idx_blit], m[idx_blit]), self._warp(x[idx_warp], m[idx_warp])])
        return out[torch.argsort(torch.cat([idx_blit, idx_warp]))]

    @staticmethod
    def _blit(x: Tensor, m: Tensor) -> Tensor:
        """Exact integer resampling with reflected borders (what reflect padding would give)."""
        b, c, h, w = x.shape
        ys = torch.arange(h, device=x.device, dtype=m.dtype) - (h - 1) / 2
        xs = torch.arange(w, device=x.device, dtype=m.dtype) - (w - 1) / 2
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        coords = torch.stack([gx.flatten(), gy.flatten(), torch.ones_like(gx.flatten())])  # [3, HW]
        src = m[:, :2] @ coords  # [B, 2, HW], centred input coordinates
        ix = _reflect_index(torch.round(src[:, 0] + (w - 1) / 2).long(), w)
        iy = _reflect_index(torch.round(src[:, 1] + (h - 1) / 2).long(), h)
        index = (iy * w + ix)[:, None, :].expand(b, c, h * w)
        return torch.gather(x.flatten(2), 2, index).reshape(b, c, h, w)

    def _warp(self, x: Tensor, m: Tensor) -> Tensor:
        """Resample every image through its inverse matrix with low aliasing (see module doc)."""
        b, c, h, w = x.shape
        taps = self.geom_kernel.shape[-1]
        left, right, top, bottom = self._reflect_padding(m, height=h, width=w, taps=taps)
        x = F.pad(x, [left, right, top, bottom], mode="reflect")
        x = upsample2d(x, self.geom_kernel)
        # Render at 2x with (taps - 2) extra pixels so that the valid down-sampling returns h x w.
        out_h, out_w = 2 * h + taps - 2, 2 * w + taps - 2
        ones = torch.ones(b, device=x.device)
        theta = (
            scale2d(ones / (w + left + right), ones / (h + top + bottom))  # 2x pixels -> [-1, 1]
            @ scale2d(2 * ones, 2 * ones)  # padded pixels -> 2x pixels
            @ translate2d((left - right) / 2 * ones, (top - bottom) / 2 * ones)  # -> padded centre
            @ m
            @ scale2d(ones * out_w / 4, ones * out_h / 4)  # [-1, 1] -> output pixels at 1x
        )
        grid = F.affine_grid(theta[:, :2, :], [b, c, out_h, out_w], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return downsample2d(x, self.geom_kernel, padding=0)

    @staticmethod
    def _reflect_padding(m: Tensor, *, height: int, width: int, taps: int) -> list[int]:
        """Padding (left, right, top, bottom) that covers the input region any output pixel reads."""
        cx, cy = (width - 1) / 2, (height - 1) / 2
        corners = torch.tensor(
            [[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1, 1, 1, 1]], dtype=m.dtype, device=m.device
        )
        mapped = m @ corners  # [B, 3, 4]
        support = taps / 2  # filter reach plus the extra output border, in 1x pixels
        xs, ys = mapped[:, 0], mapped[:, 1]
        need = torch.stack([-xs.min() - cx, xs.max() - cx, -ys.min() - cy, ys.max() - cy]) + support
        limits = [width - 1, width - 1, height - 1, height - 1]
        return [int(min(max(math.ceil(v), 0), lim)) for v, lim in zip(need.tolist(), limits)]


def _reflect_index(index: Tensor, size: int) -> Tensor:
    """Fold any integer index into [0, size) by mirroring at the edges (edge pixels not repeated)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    folded = torch.remainder(index, period)
    return (size - 1) - (folded - (size - 1)).abs()


# ----------------------------------------------------------------------------------- controller


class AdaController:
    """Adjusts the pipeline's p from the sign of D's outputs on real images.

    r_t = E[sign(D(real))] over the last `interval` minibatches; p moves by
    sign(r_t - target) * batch_size * interval / (ada_kimg * 1000), i.e. it can go from 0 to 1 in
    `ada_kimg` thousand images, and is clamped to [0, 1]. Mode 'fixed' keeps p constant (r_t is
    still measured) and 'noaug' forces p = 0.
    """

    def __init__(
        self,
        *,
        augment: AdaptiveAugment,
        batch_size: int,
        target: float = 0.6,
        interval: int = 4,
        ada_kimg: float = 500.0,
        mode: AdaMode = "ada",
    ) -> None:
        if mode not in ("ada", "fixed", "noaug"):
            raise ValueError(f"mode must be 'ada', 'fixed' or 'noaug', got {mode!r}")
        if batch_size < 1 or interval < 1 or ada_kimg <= 0:
            raise ValueError("batch_size and interval must be >= 1 and ada_kimg > 0")
        self.augment, self.batch_size, self.target = augment, batch_size, target
        self.interval, self.ada_kimg, self.mode = interval, ada_kimg, mode
        self.r_t: float | None = None
        self._sign_sum: Tensor | float = 0.0
        self._count = 0
        self._batches = 0
        if mode == "noaug":
            self.augment.p.fill_(0.0)

    @property
    def p(self) -> float:
        return float(self.augment.p)

    def accumulate(self, real_logits: Tensor) -> bool:
        """Record one minibatch of D(real) logits; returns True when p was just re-estimated."""
        self._sign_sum = self._sign_sum + torch.sign(real_logits.detach().float()).sum()
        self._count += real_logits.numel()
        self._batches += 1
        if self._batches % self.interval:
            return False
        self._update()
        return True

    def _update(self) -> None:
        self.r_t = float(self._sign_sum) / max(self._count, 1)
        self._sign_sum, self._count = 0.0, 0
        if self.mode != "ada":
            return
        step = self.batch_size * self.interval / (self.ada_kimg * 1000)
        direction = float(np.sign(self.r_t - self.target))
        self.augment.p.copy_((self.augment.p + direction * step).clamp(0.0, 1.0))

    def state_dict(self) -> dict[str, float | int | None]:
        return {
            "p": self.p,
            "r_t": self.r_t,
            "sign_sum": float(self._sign_sum),
            "count": self._count,
            "batches": self._batches,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.augment.p.fill_(0.0 if self.mode == "noaug" else float(state["p"]))
        self.r_t = None if state.get("r_t") is None else float(state["r_t"])
        self._sign_sum = float(state.get("sign_sum", 0.0) or 0.0)
        self._count = int(state.get("count", 0) or 0)
        self._batches = int(state.get("batches", 0) or 0)
