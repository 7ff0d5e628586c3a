"""A small U-Net (Ronneberger et al. 2015) for `datasetgan evaluate`: the downstream segmentation network that
is trained on annotated or generated pairs and scored on real test images.

Each level is two 3x3 conv - batch norm - ReLU blocks; going down halves the size (max pooling) and doubles the
channels, going up doubles the size (bilinear) and concatenates the skip of the same level before its blocks.
"""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    # bias=False: batch norm's shift makes a conv bias redundant
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Per-pixel class logits of an image batch.

    in_channels: image channels; num_classes: K; levels: resolutions (3-5; the input side must be divisible by
    2 ** (levels - 1)); width: channels of the first level (level i has width * 2 ** i).
    forward: float [B, in_channels, H, W] in [-1, 1] -> logits [B, K, H, W].
    """

    def __init__(self, *, in_channels: int, num_classes: int, levels: int = 4, width: int = 16) -> None:
        super().__init__()
        if not 2 <= levels <= 6:
            raise ValueError(f"levels must be 2..6, not {levels}")
        channels = [width * 2**i for i in range(levels)]
        self.levels = levels
        self.down = nn.ModuleList([_double_conv(in_channels, channels[0])] + [
            _double_conv(channels[i - 1], channels[i]) for i in range(1, levels)])
        # Going up, level i receives level i+1's output (upsampled) beside its own skip.
        self.up = nn.ModuleList([_double_conv(channels[i + 1] + channels[i], channels[i])
                                 for i in range(levels - 1)])
        self.head = nn.Conv2d(channels[0], num_classes, 1)

    @property
    def divisor(self) -> int:
        """The input side must be a multiple of this."""
        return 2 ** (self.levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for i in reversed(range(self.levels - 1)):
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.up[i](torch.cat([x, skips[i]], dim=1))
        return self.head(x)
