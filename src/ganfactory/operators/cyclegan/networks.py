"""CycleGAN networks (Zhu et al. 2017): the ResNet generator and the 70x70 PatchGAN discriminator.

Both follow the junyanz reference layout (reflection padding, InstanceNorm without affine
parameters, convolution biases kept) so parameter counts match: 11,378,179 for the 9-block
generator at base 64 and 2,764,737 for the 3-layer discriminator.

Speed notes. On CPUs with AMX/avx512_bf16 the networks are fastest under
``torch.autocast("cpu", dtype=torch.bfloat16)`` with modules and inputs in ``torch.channels_last``;
every layer here keeps that layout, so no hidden NCHW<->NHWC copies happen between convolutions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "InstanceNorm2d",
    "ReflectionPad2d",
    "ResnetBlock",
    "ResnetGenerator",
    "PatchDiscriminator",
    "PatchHeads",
    "nce_layers",
    "default_n_blocks",
    "default_n_layers",
    "check_generator_size",
    "init_weights",
    "lerp_skip",
    "set_requires_grad",
]

ModuleT = TypeVar("ModuleT", bound=nn.Module)


SKIP_LIMIT = 0.999  # |x| bound before atanh in the generator's input skip


def _is_exporting() -> bool:
    """True while torch.export / the ONNX exporters / TorchScript tracing record the graph."""
    return bool(
        torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()
    )


class ReflectionPad2d(nn.Module):
    """Reflection padding that keeps its input dtype under CPU autocast.

    CPU autocast lists reflection_pad2d among the float32 ops, so ``nn.ReflectionPad2d`` turns every
    bf16 activation into a float32 copy that the next convolution casts straight back. Padding only
    moves values, so running it in the input dtype is exact and saves two full copies per layer.
    """

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (self.padding,) * 4
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not _is_exporting():
            with torch.autocast("cpu", enabled=False):
                return F.pad(x, pad, mode="reflect")
        return F.pad(x, pad, mode="reflect")

    def extra_repr(self) -> str:
        return f"padding={self.padding}"


class InstanceNorm2d(nn.Module):
    """Instance normalisation without affine parameters; half-precision inputs normalised in float32.

    Mathematically ``nn.InstanceNorm2d(affine=False)``, built on batch_norm over single samples
    (a sample's per-channel statistics are exactly its instance statistics). Why not F.instance_norm:
    - it makes channels_last tensors contiguous, a full copy forward and backward per layer, which
      the next channels_last convolution undoes;
    - on CPU (torch 2.13) it returns wrong input gradients for batch size 1 when the incoming
      gradient is channels_last: its internal view gives that gradient a non-canonical batch stride
      and batch_norm's backward then reads it in the wrong layout. A channels_last CycleGAN at the
      default batch size 1 trains on silently corrupted gradients that way (see the tests).
    bf16/fp16 inputs (autocast hands them over from the convolutions) are normalised in float32 and
    returned in their own dtype. While exporting (ONNX, torch.export) the plain ``F.instance_norm``
    is recorded: one InstanceNormalization node, no branch on the batch size, so it stays dynamic.
    """

    def __init__(self, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise each channel of a (1, C, H, W) tensor over H and W; half types via float32."""
        # A plain .to() (not a permuted-view trick): the output must not be a view, or the in-place
        # ReLU after it makes autograd copy its gradient through a mixed-layout slow path.
        x32 = x.float() if x.dtype in (torch.bfloat16, torch.float16) else x
        return F.batch_norm(x32, None, None, training=True, eps=self.eps).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _is_exporting():
            return F.instance_norm(x, eps=self.eps)
        n, c, h, w = x.shape
        if n == 1:
            # No view around the call: the gradient reaches batch_norm with the strides it was made with.
            return self._norm(x)
        if x.is_contiguous():
            return self._norm(x.reshape(1, n * c, h, w)).reshape(n, c, h, w)
        # channels_last cannot fold N into C without a copy; normalise sample by sample instead
        # (this also keeps float32 temporaries one sample large).
        return torch.cat([self._norm(sample) for sample in x.split(1)])

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


class ResnetBlock(nn.Module):
    """x + (pad, conv3x3, norm, ReLU, pad, conv3x3, norm)(x); no dropout (CycleGAN's default)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3),
            InstanceNorm2d(),
            nn.ReLU(inplace=True),
            ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3),
            InstanceNorm2d(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def default_n_blocks(height: int, width: int) -> int:
    """Residual blocks for an image size: 9 from 256 px (the paper's setting), 6 below (its 128 px one)."""
    return 9 if min(height, width) >= 256 else 6


def check_generator_size(height: int, width: int, *, n_downsampling: int = 2) -> None:
    """Raise ValueError unless the generator maps an image of this size back to exactly this size.

    Each stride-2 convolution halves a side and each transposed one doubles it, so both sides must
    divide by 2**n_downsampling; the bottleneck side must stay >= 2 for the reflection padding.
    """
    factor = 2**n_downsampling
    for name, side in (("height", height), ("width", width)):
        if side % factor or side // factor < 2:
            raise ValueError(
                f"image {name} {side} does not suit the CycleGAN generator: use a multiple of "
                f"{factor} that is at least {2 * factor} (a power of two such as 256 is safest)"
            )


class ResnetGenerator(nn.Module):
    """

    model: nn.Sequential
    n_downsampling: int
    in_channels: intThe CycleGAN ResNet generator ("resnet_9blocks" / "resnet_6blocks").

    c7s1-64, d128, d256, n x R256, u128, u64, c7s1-C, tanh (for base_channels 64, n_downsampling 2).
    Works for any height and width that ``check_generator_size`` accepts, including H != W.
    Input and output: [N, C, H, W] images in [-1, 1].

    ``input_skip`` (ours, not the paper's): the output is the input image changed by the network's
    t = tanh(net(x)); ``skip_mode`` "lerp" (default) moves each value toward white or black by the
    fraction |t| (``lerp_skip``), "tanh" computes tanh(net(x) + atanh(x)), which hardly changes white
    or black pixels (slope 0.002 there: on glyphs it could not thicken strokes). Why: the first layers are
    a convolution then an InstanceNorm, so the paper's generator is blind to any per-image contrast
    change and per-channel offset of its input (G(a * x + b) == G(x) up to the norm's eps): the ink
    colour of a flat glyph or pictogram on white cannot reach the output, the cycle loss cannot be
    met, and on small data the colours collapse to one (issue 15; benchmarks/cyclegan_quality.py).
    With the skip the input's colours pass through and the network learns the change. The skip has
    no parameters: state dicts are the same either way. Channel counts must agree to use it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        base_channels: int = 64,
        n_blocks: int = 9,
        n_downsampling: int = 2,
        input_skip: bool = False,
        skip_mode: Literal["lerp", "tanh"] = "lerp",
    ) -> None:
        super().__init__()
        if input_skip and in_channels != out_channels:
            raise ValueError(f"input_skip needs as many input as output channels, got {in_channels} and {out_channels}")
        if skip_mode not in ("lerp", "tanh"):
            raise ValueError(f"skip_mode must be 'lerp' or 'tanh', got {skip_mode!r}")
        self.input_skip = input_skip
        self.skip_mode = skip_mode
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.n_downsampling = n_downsampling
        layers: list[nn.Module] = [
            ReflectionPad2d(3),
            nn.Conv2d(in_channels, base_channels, kernel_size=7),
            InstanceNorm2d(),
            nn.ReLU(inplace=True),
        ]
        ch = base_channels
        for _ in range(n_downsampling):
            layers += [nn.Conv2d(ch, ch * 2, kernel_size=3, stride=2, padding=1), InstanceNorm2d(),
                       nn.ReLU(inplace=True)]
            ch *= 2
        layers += [ResnetBlock(ch) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            # output_padding=1 makes every transposed convolution double the side exactly.
            up = nn.ConvTranspose2d(ch, ch // 2, kernel_size=3, stride=2, padding=1, output_padding=1)
            layers += [up, InstanceNorm2d(), nn.ReLU(inplace=True)]
            ch //= 2
        layers += [ReflectionPad2d(3), nn.Conv2d(ch, out_channels, kernel_size=7)]
        if not input_skip:
            layers.append(nn.Tanh())  # with the skip, forward() applies tanh after adding the input
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.input_skip:
            return self.model(x)
        if self.skip_mode == "tanh":
            # Clamped so that exact +-1 (white, black) maps to a finite pre-activation (atanh(0.999) ~ 3.8).
            return torch.tanh(self.model(x) + torch.atanh(x.clamp(-SKIP_LIMIT, SKIP_LIMIT)))
        return lerp_skip(x, torch.tanh(self.model(x)))

    def encode(self, x: torch.Tensor, layers: Iterable[int]) -> list[torch.Tensor]:
        """The outputs of ``self.model[i]`` for each i in ``layers`` (ascending), running only as far as needed.

        CUT's PatchNCE reads these (the reference's ``encode_only``); the input skip plays no part in them.
        """
        wanted = sorted(set(layers))
        feats = []
        for index, layer in enumerate(list(self.model)[:wanted[-1] + 1]):
            x = layer(x)
            if index in wanted:
                feats.append(x)
        return feats

    def layer_channels(self, index: int) -> int:
        """Channels of the output of ``self.model[index]``."""
        channels = self.in_channels
        for layer in list(self.model)[:index + 1]:
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                channels = layer.out_channels
        return channels


def nce_layers(n_downsampling: int, n_blocks: int) -> list[int]:
    """Indices into ``ResnetGenerator.model`` of CUT's encoder layers (the reference's nce_layers 0,4,8,12,16).

    In the reference's generator (anti-aliased downsampling: conv, norm, ReLU, blur per step) those are the padded
    input, the first and second downsampling convolutions, the first residual block and the fifth. Here: index 0
    (padding), each stride-2 convolution (4, 7), the first block and the fifth (or the last, with fewer blocks).
    """
    downs = [4 + 3 * k for k in range(n_downsampling)]
    first_block = 4 + 3 * n_downsampling
    return sorted({0, *downs, first_block, first_block + min(4, n_blocks - 1)})


def lerp_skip(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x moved toward +1 by the fraction t where t > 0 and toward -1 by -t where t < 0 (x, t: [N, C, H, W]).

    The result stays in [-1, 1], equals x where t == 0, and its slope in t is 1 - x (t > 0) or 1 + x
    (t < 0): a white pixel (x = 1) darkens at full rate. The "tanh" skip, tanh(net + atanh(x)), has slope
    1 - 0.999**2 = 0.002 there, so its generators could hardly draw ink onto white (issue 15).
    """
    return x + t.clamp(min=0) * (1 - x) + t.clamp(max=0) * (1 + x)


def default_n_layers(height: int, width: int) -> int:
    """Discriminator depth for an image size: 3 (the 70x70 PatchGAN) unless the image is too small.

    With n stride-2 layers and two stride-1 4x4 layers the output side is side / 2**n - 2, so tiny
    images (16 px) need fewer layers to keep at least a 1x1 patch map.
    """
    side = min(height, width)
    for n_layers in (3, 2, 1):
        if side // 2**n_layers - 2 >= 1:
            return n_layers
    raise ValueError(f"image size {height}x{width} is too small for a PatchGAN discriminator: use at least 8 px")


class PatchDiscriminator(nn.Module):
    """The PatchGAN discriminator; n_layers=3 gives the 70x70 receptive field of the paper.

    C64 (no norm) - C128 - C256 with stride 2, C512 with stride 1, then a 1-channel 4x4 conv;
    LeakyReLU 0.2 and InstanceNorm. Returns a map of per-patch scores (no sigmoid: LSGAN).
    """

    def __init__(self, in_channels: int, *, base_channels: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        self.in_channels = in_channels
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        ch = base_channels
        for n in range(1, n_layers + 1):
            out = base_channels * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(ch, out, kernel_size=4, stride=stride, padding=1),
                InstanceNorm2d(),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch = out
        layers.append(nn.Conv2d(ch, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchHeads(nn.Module):
    """CUT's projection heads (the reference's PatchSampleF "mlp_sample"): per encoder layer a Linear(C, units),
    ReLU, Linear(units, units) applied to sampled feature vectors, which the loss then L2-normalises.

    The reference creates the MLPs on the first batch, from the features' shapes; here they are built at once from
    the channel counts, so a checkpoint always holds them and their optimiser.
    """

    def __init__(self, channels: Iterable[int], *, units: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, units), nn.ReLU(inplace=True), nn.Linear(units, units)) for c in channels)

    def forward(self, samples: list[torch.Tensor]) -> list[torch.Tensor]:
        """[P_i, C_i] samples per layer -> [P_i, units] projections (not yet normalised)."""
        return [mlp(sample) for mlp, sample in zip(self.mlps, samples)]


@torch.no_grad()
def init_weights(module: ModuleT, *, std: float = 0.02) -> ModuleT:
    """Initialise conv / transposed conv / linear weights from N(0, std) and biases to 0 (the paper's init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def set_requires_grad(nets: nn.Module | Iterable[nn.Module], flag: bool) -> None:
    """Switch parameter gradients of one or more networks on or off.

    The generator step back-propagates through the discriminators only to reach the fakes; with
    their parameters frozen autograd skips the weight-gradient convolutions of D altogether.
    """
    if isinstance(nets, nn.Module):
        nets = [nets]
    for net in nets:
        for p in net.parameters():
            p.requires_grad_(flag)
