"""StyleGAN2 discriminator (residual, or 'orig' under the cifar preset), as used by StyleGAN2-ADA.

Written from Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" and "Training Generative
Adversarial Networks with Limited Data"; the transitional conditioning head follows Shahbazi et al. 2022.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ganfactory.nn.layers import EqualizedConv2d, EqualizedLinear, MinibatchStd, full_precision_scope
from ganfactory.operators.stylegan.networks import (
    DEFAULT_TAPS,
    Conditioning,
    MappingNetwork,
    channels_at,
    check_labels,
    check_resolution,
    fp16_resolution,
    to_memory_format,
)

DiscriminatorArchitecture = Literal["resnet", "orig"]


class DiscriminatorBlock(nn.Module):
    """One resolution: [fromRGB], conv, down-sampling conv, with a 1x1 residual skip ('resnet')."""

    def __init__(
        self,
        *,
        first: bool,
        tmp_channels: int,
        out_channels: int,
        img_channels: int,
        architecture: DiscriminatorArchitecture,
        reduced_precision: bool,
        conv_clamp: float | None,
        channels_last: bool,
        resample_taps: Sequence[float] = DEFAULT_TAPS,
    ) -> None:
        super().__init__()
        self.reduced_precision, self.channels_last = reduced_precision, channels_last
        common: dict[str, Any] = dict(activation="lrelu", conv_clamp=conv_clamp)
        self.fromrgb = (
            EqualizedConv2d(img_channels, tmp_channels, kernel_size=1, **common) if first else None
        )
        # Residual branches are scaled by sqrt(0.5) so that the sum keeps unit variance.
        branch_gain = math.sqrt(0.5) if architecture == "resnet" else 1.0
        self.conv0 = EqualizedConv2d(tmp_channels, tmp_channels, kernel_size=3, **common)
        self.conv1 = EqualizedConv2d(
            tmp_channels, out_channels, kernel_size=3, down=2, gain=branch_gain,
            resample_taps=resample_taps, **common,
        )  # fmt: skip
        self.skip = None
        if architecture == "resnet":
            self.skip = EqualizedConv2d(
                tmp_channels, out_channels, kernel_size=1, bias=False, down=2, gain=branch_gain,
                resample_taps=resample_taps,
            )  # fmt: skip

    def forward(self, x: Tensor | None, img: Tensor) -> Tensor:
        with full_precision_scope(img, enabled=not self.reduced_precision):
            if self.fromrgb is not None:
                x = self.fromrgb(to_memory_format(img, self.channels_last))
            elif not self.reduced_precision:
                assert x is not None, "a block without fromrgb takes the previous block's features"
                x = x.float()
            y = self.conv1(self.conv0(x))
            return y if self.skip is None else self.skip(x).add_(y)


class DiscriminatorEpilogue(nn.Module):
    """4x4: minibatch std, conv, FC, output; projection onto the label embedding when conditional.

    With `unconditional_head` (transitional conditioning) a second, class-blind output is computed from
    the same features and the result is [B, 2]: column 0 unconditional, column 1 the projection.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        cmap_dim: int,
        resolution: int = 4,
        mbstd_group_size: int = 4,
        mbstd_channels: int = 1,
        conv_clamp: float | None = None,
        unconditional_head: bool = False,
    ) -> None:
        super().__init__()
        self.cmap_dim = cmap_dim
        self.mbstd = (
            MinibatchStd(group_size=mbstd_group_size, num_channels=mbstd_channels)
            if mbstd_channels > 0
            else None
        )
        self.conv = EqualizedConv2d(
            in_channels + mbstd_channels, in_channels, kernel_size=3, activation="lrelu",
            conv_clamp=conv_clamp,
        )  # fmt: skip
        self.fc = EqualizedLinear(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = EqualizedLinear(in_channels, max(cmap_dim, 1))
        self.out_unconditional = EqualizedLinear(in_channels, 1) if unconditional_head else None

    def forward(self, x: Tensor, cmap: Tensor | None) -> Tensor:
        return self.forward_with_embedding(x, cmap)[0]

    def forward_with_embedding(self, x: Tensor, cmap: Tensor | None) -> tuple[Tensor, Tensor]:
        """(logits as `forward` gives them, the image's embedding [B, cmap_dim] that the projection scores
        against the label embedding cmap [B, cmap_dim]; with cmap None the embedding is the [B, 1] logit)."""
        with full_precision_scope(x, enabled=True):
            x = x.float()
            if self.mbstd is not None:
                x = self.mbstd(x)
            x = self.conv(x)
            features = self.fc(x.flatten(1))
            embedding = self.out(features)
            x = embedding if cmap is None else self.project(embedding, cmap)
            if self.out_unconditional is not None:
                x = torch.cat([self.out_unconditional(features), x], dim=1)
        return x, embedding

    def project(self, embedding: Tensor, cmap: Tensor) -> Tensor:
        """Projection logits <embedding_i, cmap_j> / sqrt(cmap_dim): [B, 1] for one label per image
        (cmap [B, cmap_dim]); class_scores uses the same scale for every class at once."""
        return (embedding * cmap).sum(dim=1, keepdim=True) * (1.0 / math.sqrt(self.cmap_dim))


class Discriminator(nn.Module):
    """StyleGAN2 discriminator: image [B, C, R, R] (+ labels) -> logits [B, 1] (fp32).

    A conditional discriminator with conditioning="transitional" returns [B, 2]: the unconditional logit
    and the projection logit (Shahbazi et al. 2022); ganfactory.operators.stylegan.loss weighs them.
    """

    def __init__(
        self,
        *,
        num_classes: int = 0,
        resolution: int,
        img_channels: int = 3,
        channel_base: int = 32768,
        channel_max: int = 512,
        mbstd_group_size: int = 4,
        mbstd_channels: int = 1,
        architecture: DiscriminatorArchitecture = "resnet",
        cmap_dim: int | None = None,
        mapping_layers: int = 8,
        num_fp16_res: int = 4,
        conv_clamp: float | None = 256.0,
        channels_last: bool = True,
        resample_taps: Sequence[float] = DEFAULT_TAPS,
        conditioning: Conditioning = "concat",
    ) -> None:
        super().__init__()
        if architecture not in ("resnet", "orig"):
            raise ValueError(f"architecture must be 'resnet' or 'orig', got {architecture!r}")
        log2 = check_resolution(resolution)
        self.num_classes, self.resolution, self.img_channels = num_classes, resolution, img_channels
        ch = dict(channel_base=channel_base, channel_max=channel_max)
        lowest_reduced = fp16_resolution(log2_resolution=log2, num_fp16_res=num_fp16_res)
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(
                first=res == resolution, tmp_channels=channels_at(res, **ch),
                out_channels=channels_at(res // 2, **ch), img_channels=img_channels,
                architecture=architecture, conv_clamp=conv_clamp, channels_last=channels_last,
                reduced_precision=num_fp16_res > 0 and res >= lowest_reduced,
                resample_taps=resample_taps,
            )
            for res in (2**i for i in range(log2, 2, -1))
        )  # fmt: skip
        self.cmap_dim = 0
        self.mapping = None
        if num_classes > 0:
            self.cmap_dim = cmap_dim or channels_at(4, **ch)
            self.mapping = MappingNetwork(
                z_dim=0, w_dim=self.cmap_dim, num_classes=num_classes, num_ws=None,
                num_layers=mapping_layers, w_avg_beta=None,
            )  # fmt: skip
        self.epilogue = DiscriminatorEpilogue(
            in_channels=channels_at(4, **ch), cmap_dim=self.cmap_dim,
            mbstd_group_size=mbstd_group_size, mbstd_channels=mbstd_channels, conv_clamp=conv_clamp,
            unconditional_head=num_classes > 0 and conditioning == "transitional",
        )  # fmt: skip

    def forward(self, img: Tensor, c: Tensor | None = None) -> Tensor:
        return self.epilogue(self._features(img, c), self._cmap(c))

    def forward_with_other_labels(self, img: Tensor, c: Tensor, other: Tensor) -> tuple[Tensor, Tensor]:
        """(D(img, c), D(img, other)) from one pass through the blocks: the projection head scored against two
        label sets (the class-mismatch term of training scores real images against wrong labels)."""
        x = self._features(img, c)
        check_labels(other, num_classes=self.num_classes, batch=img.shape[0])
        return self.epilogue(x, self._cmap(c)), self.epilogue(x, self._cmap(other))

    def forward_with_class_scores(self, img: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """(D(img, c) [B, 1] or [B, 2], class scores [B, num_classes]) from one pass through the blocks.

        The class scores are the projection logits of the image against every class's label embedding, so a
        softmax over them is a classifier that shares D's projection head (the dual projection of Han et al.
        2021, P2GAN); the score of class c equals D's projection logit for (img, c).
        """
        x = self._features(img, c)
        logits, embedding = self.epilogue.forward_with_embedding(x, self._cmap(c))
        assert self.mapping is not None, "class scores need a conditional discriminator"
        every_class = torch.arange(self.num_classes, device=img.device)
        class_maps = self.mapping(None, every_class)  # [num_classes, cmap_dim]
        return logits, embedding.float() @ class_maps.float().T * (1.0 / math.sqrt(self.cmap_dim))

    def _cmap(self, c: Tensor | None) -> Tensor | None:
        return None if self.mapping is None else self.mapping(None, c)

    def _features(self, img: Tensor, c: Tensor | None) -> Tensor:
        if img.ndim != 4 or img.shape[1:] != (self.img_channels, self.resolution, self.resolution):
            raise ValueError(
                f"images must have shape [batch, {self.img_channels}, {self.resolution}, "
                f"{self.resolution}], got {list(img.shape)}"
            )
        check_labels(c, num_classes=self.num_classes, batch=img.shape[0])
        x = None
        for block in self.blocks:
            x = block(x, img)
        assert x is not None  # a discriminator has at least one block
        return x
