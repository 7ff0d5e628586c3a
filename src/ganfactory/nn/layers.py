"""Building blocks shared by the GAN operators.

Equalised learning rate (Karras et al. 2018): parameters are stored at unit scale and multiplied
by their He constant at run time, so Adam sees every layer at the same scale.
Resampling uses a separable FIR filter (default [1, 3, 3, 1]) instead of nearest/bilinear so that
up- and down-sampling do not alias.

All layers keep channels_last activations channels_last and work under autocast
(CPU bfloat16, CUDA float16): convolutions run in the reduced type, while bias, gain and
clamp are applied in the activation's own dtype.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Activation = Literal["linear", "lrelu"]

LRELU_SLOPE = 0.2
# Gain that keeps the second moment of a leaky-ReLU output equal to its input's.
LRELU_GAIN = math.sqrt(2.0)


def activation_gain(activation: Activation) -> float:
    return LRELU_GAIN if activation == "lrelu" else 1.0


def is_reduced_precision(x: Tensor) -> bool:
    """True when x is in a 16-bit float type (autocast output), where the paper clamps activations."""
    return x.dtype in (torch.float16, torch.bfloat16)


def full_precision_scope(x: Tensor, *, enabled: bool) -> contextlib.AbstractContextManager:
    """Turn autocast off for the enclosed code when `enabled`, so low-resolution layers stay fp32.

    Outside autocast (fp32 training, ONNX export) this is a no-op context.
    """
    device_type = x.device.type
    if enabled and torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def match_dtype(x: Tensor, weight: Tensor, bias: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """Cast parameters to the activation dtype, except under autocast, which casts them itself."""
    if torch.is_autocast_enabled(x.device.type) or weight.dtype == x.dtype:
        return weight, bias
    return weight.to(x.dtype), None if bias is None else bias.to(x.dtype)


def apply_activation(x: Tensor, *, activation: Activation, clamp: float | None) -> Tensor:
    """Leaky ReLU (gain already folded into the preceding linear op) and the reduced-precision clamp."""
    if activation == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE)
    if clamp is not None and is_reduced_precision(x) and _exceeds(x, clamp):
        x = x.clamp(-clamp, clamp)
    return x


def _exceeds(x: Tensor, limit: float) -> bool:
    """Whether the clamp would change anything.

    On CPU one read-only min/max pass is far cheaper than clamp plus its backward (several passes),
    and activations almost never reach the limit. Elsewhere the check would cost a device sync, so
    the clamp is applied unconditionally.
    """
    if x.device.type != "cpu":
        return True
    lo, hi = torch.aminmax(x.detach())
    return bool(lo < -limit) or bool(hi > limit)


def bias_act(
    x: Tensor,
    bias: Tensor | None,
    *,
    activation: Activation = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
) -> Tensor:
    """act(x + bias) * activation_gain * gain, clamped to +-clamp in reduced precision.

    The gain is applied before the leaky ReLU (lrelu(a*x) == a*lrelu(x) for a > 0), so the
    whole thing is one fused multiply-add and one activation.
    """
    total_gain = activation_gain(activation) * gain
    if bias is not None:
        shape = [1, -1] + [1] * (x.ndim - 2)
        b = bias.to(x.dtype).reshape(shape)
        x = torch.add(b * total_gain, x, alpha=total_gain) if total_gain != 1.0 else x + b
    elif total_gain != 1.0:
        x = x * total_gain
    return apply_activation(x, activation=activation, clamp=None if clamp is None else clamp * gain)


def conv_weight(out_channels: int, in_channels: int, kernel_size: int) -> nn.Parameter:
    """Unit-Gaussian conv kernel stored as [out, k, k, in]; use it through `conv_kernel`.

    That is the channels_last memory order as a plain contiguous tensor: oneDNN gets a channels_last
    kernel without a layout copy in the forward and the backward, gradients arrive in the same order
    (no copy when accumulating), and fused Adam and safetensors see an ordinary contiguous tensor.
    """
    return nn.Parameter(torch.randn(out_channels, kernel_size, kernel_size, in_channels))


def conv_kernel(weight: Tensor) -> Tensor:
    """[out, k, k, in] storage -> the [out, in, k, k] kernel conv2d expects (a view, no copy)."""
    return weight.permute(0, 3, 1, 2)


class _SumOfSquares(torch.autograd.Function):
    """sum over `dims` of w**2 whose backward is one multiply (w * w costs two and an add)."""

    @staticmethod
    def forward(ctx, weight: Tensor, dims: tuple[int, ...]) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(weight)
        ctx.dims = dims
        return (weight * weight).sum(dim=dims)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # noqa: ANN001
        (weight,) = ctx.saved_tensors
        for d in sorted(ctx.dims):
            grad = grad.unsqueeze(d)
        return weight * (2 * grad), None


def sum_of_squares(weight: Tensor, *, dims: tuple[int, ...]) -> Tensor:
    return _SumOfSquares.apply(weight, dims)


def normalize_2nd_moment(x: Tensor, *, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Scale each vector to unit root-mean-square (the mapping network's input normalisation)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


# --------------------------------------------------------------------------------------------- FIR


def fir_kernel(taps: Sequence[float] = (1, 3, 3, 1)) -> Tensor:
    """2-D separable low-pass kernel (outer product of `taps`), normalised to unit DC gain."""
    t = torch.as_tensor(taps, dtype=torch.float32)
    if t.ndim != 1 or t.numel() % 2 != 0:
        raise ValueError(f"FIR taps must be a 1-D even-length sequence, got {list(taps)}")
    if not torch.equal(t, t.flip(0)):
        raise ValueError("FIR taps must be symmetric (conv2d does not flip the kernel)")
    k = torch.outer(t, t)
    return k / k.sum()


def _depthwise(kernel: Tensor, channels: int, dtype: torch.dtype, gain: float) -> Tensor:
    return (kernel * gain).to(dtype).expand(channels, 1, *kernel.shape)


class _DepthwiseConv(torch.autograd.Function):
    """Depthwise conv2d with a fixed kernel, whose backward is the transposed op (and vice versa).

    Any order of derivative (R1 and path length need two) then stays one depthwise call; torch's
    generic double backward of grouped convolutions loops over the groups, i.e. over channels.
    Runs in the activation dtype: these filters are memory-bound, not worth autocasting.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, stride: int, padding: tuple[int, int]) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(weight)
        ctx.stride, ctx.padding, ctx.in_size = stride, padding, tuple(x.shape[2:])
        with torch.autocast(device_type=x.device.type, enabled=False):
            return F.conv2d(x, weight.to(x.dtype), stride=stride, padding=padding, groups=x.shape[1])

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        (weight,) = ctx.saved_tensors
        k = weight.shape[-2:]
        # Rows/columns that the strided forward never reached come back as output padding.
        out_pad = tuple(
            ctx.in_size[d] - ((grad.shape[2 + d] - 1) * ctx.stride - 2 * ctx.padding[d] + k[d])
            for d in range(2)
        )
        grad_x = _DepthwiseConvTranspose.apply(grad, weight, ctx.stride, ctx.padding, out_pad)
        return grad_x, None, None, None


class _DepthwiseConvTranspose(torch.autograd.Function):
    """Depthwise conv_transpose2d with a fixed kernel; the adjoint of _DepthwiseConv."""

    @staticmethod
    def forward(  # noqa: ANN001
        ctx,
        x: Tensor,
        weight: Tensor,
        stride: int,
        padding: tuple[int, int],
        output_padding: tuple[int, int],
    ) -> Tensor:
        ctx.save_for_backward(weight)
        ctx.stride, ctx.padding = stride, padding
        with torch.autocast(device_type=x.device.type, enabled=False):
            return F.conv_transpose2d(
                x, weight.to(x.dtype), stride=stride, padding=padding,
                output_padding=output_padding, groups=x.shape[1],
            )  # fmt: skip

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:  # noqa: ANN001
        (weight,) = ctx.saved_tensors
        return _DepthwiseConv.apply(grad, weight, ctx.stride, ctx.padding), None, None, None, None


def fir_filter2d(x: Tensor, kernel: Tensor, *, pad: Sequence[int], gain: float = 1.0) -> Tensor:
    """Pad (left, right, top, bottom) with zeros and filter every channel with `kernel` (valid)."""
    left, right, top, bottom = pad
    # The symmetric part of the padding goes to the convolution itself, which avoids a padded copy.
    common_x, common_y = min(left, right), min(top, bottom)
    extra = [left - common_x, right - common_x, top - common_y, bottom - common_y]
    if any(extra):
        x = F.pad(x, extra)
    weight = _depthwise(kernel, x.shape[1], x.dtype, gain)
    return _DepthwiseConv.apply(x, weight, 1, (common_y, common_x))


def upsample2d(x: Tensor, kernel: Tensor) -> Tensor:
    """2x up-sampling: zero insertion + FIR filter (gain 4), as one strided depthwise transpose conv.

    With an even kernel of length L, padding (L - 2) / 2 puts input pixel i at output 2i + 0.5,
    i.e. the image keeps its centre and extent.
    """
    p = (kernel.shape[-1] - 2) // 2
    weight = _depthwise(kernel, x.shape[1], x.dtype, 4.0)
    return _DepthwiseConvTranspose.apply(x, weight, 2, (p, p), (0, 0))


def downsample2d(x: Tensor, kernel: Tensor, *, padding: int | None = None) -> Tensor:
    """2x down-sampling: FIR filter then keep every second pixel, as one strided depthwise conv.

    The default padding (L - 2) / 2 maps H to H / 2 and keeps the image centred; padding=0 is a
    valid filter (used to crop a rendered border).
    """
    p = (kernel.shape[-1] - 2) // 2 if padding is None else padding
    weight = _depthwise(kernel, x.shape[1], x.dtype, 1.0)
    return _DepthwiseConv.apply(x, weight, 2, (p, p))


# ------------------------------------------------------------------------------------------ layers


class EqualizedLinear(nn.Module):
    """Fully connected layer with equalised learning rate and an optional lr multiplier.

    `lr_multiplier` < 1 (0.01 in the mapping network) slows a layer down: the parameter is stored
    divided by it and multiplied back at run time, so Adam's steps shrink by that factor.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_multiplier: float = 1.0,
        activation: Activation = "linear",
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation: Activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        gain = activation_gain(self.activation)
        w, b = match_dtype(x, self.weight, self.bias)
        if x.ndim == 2 and b is not None:
            # The run-time gain goes into addmm's alpha: no scaled copy of the weight matrix.
            y = torch.addmm(b * (self.bias_gain * gain), x, w.t(), alpha=self.weight_gain * gain)
        else:
            y = F.linear(x, w * (self.weight_gain * gain), None if b is None else b * (self.bias_gain * gain))
        return apply_activation(y, activation=self.activation, clamp=None)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, act={self.activation}"


class EqualizedConv2d(nn.Module):
    """Conv2d with equalised learning rate, fused bias + activation, optional FIR 2x down-sampling.

    The kernel parameter is stored [out, k, k, in] (see `conv_weight`).

    Down-sampling follows the FIR-then-stride scheme: low-pass filter at full resolution (padding
    chosen so the output is exactly half the input), then a stride-2 valid convolution.
    `gain` scales the output (the residual branches use sqrt(0.5)); it is folded into the weights.
    """

    resample_kernel: Tensor  # buffers (register_buffer), declared for the type checker

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int,
        bias: bool = True,
        activation: Activation = "linear",
        down: int = 1,
        gain: float = 1.0,
        conv_clamp: float | None = None,
        resample_taps: Sequence[float] = (1, 3, 3, 1),
    ) -> None:
        super().__init__()
        if down not in (1, 2):
            raise ValueError(f"down must be 1 or 2, got {down}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.down, self.gain = kernel_size, down, gain
        self.activation: Activation = activation
        self.conv_clamp = conv_clamp
        self.weight = conv_weight(out_channels, in_channels, kernel_size)  # [out, k, k, in]
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.register_buffer("resample_kernel", fir_kernel(resample_taps), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        total_gain = activation_gain(self.activation) * self.gain
        w = conv_kernel(self.weight) * (self.weight_gain * total_gain)
        b = None if self.bias is None else self.bias * total_gain
        w, b = match_dtype(x, w, b)
        if self.down == 2 and self.kernel_size == 1:
            # Down-sample first: the 1x1 conv then runs on a quarter of the pixels.
            y = F.conv2d(downsample2d(x, self.resample_kernel), w, b)
        elif self.down == 2:
            taps = self.resample_kernel.shape[-1]
            # Filter padding such that filter + stride-2 valid conv gives exactly H/2 outputs.
            p = (taps - 2 + self.kernel_size - 1) // 2
            x = fir_filter2d(x, self.resample_kernel, pad=[p, p, p, p])
            y = F.conv2d(x, w, b, stride=2)
        else:
            y = F.conv2d(x, w, b, padding=self.kernel_size // 2)
        clamp = None if self.conv_clamp is None else self.conv_clamp * self.gain
        return apply_activation(y, activation=self.activation, clamp=clamp)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}->{self.out_channels}, k={self.kernel_size}, down={self.down}, "
            f"act={self.activation}, gain={self.gain:g}"
        )


class MinibatchStd(nn.Module):
    """Append the average standard deviation of features across small groups of the minibatch.

    Groups are strided: sample n belongs to group n % (N / G). When the batch size is not a multiple
    of `group_size`, the largest divisor of the batch not above it is used, so odd final batches work.
    """

    def __init__(self, *, group_size: int, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def group_size_for(self, batch: int) -> int:
        """The group size used for a batch of `batch`: the largest divisor of it not above group_size."""
        g = max(1, min(self.group_size, batch))
        while batch % g:
            g -= 1
        return g

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g, f = self.group_size_for(n), self.num_channels
        y = x.float().reshape(g, n // g, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()  # [M, F, c, H, W]
        y = y.mean(dim=[2, 3, 4])  # [M, F]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w).to(x.dtype)
        out = torch.cat([x, y], dim=1)
        return out.contiguous(memory_format=torch.channels_last) if _is_channels_last(x) else out

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


def _is_channels_last(x: Tensor) -> bool:
    return x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
