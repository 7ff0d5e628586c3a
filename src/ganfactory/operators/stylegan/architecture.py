"""The StyleGAN networks a checkpoint records (its meta["architecture"]): one frozen value, written with `to_dict`
and read back with `from_dict`, which takes files of every age through the one `upgrade` below."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ganfactory.engine.checkpoint import checkpoint_architecture
from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.networks import Conditioning, Generator
from ganfactory.operators.stylegan.presets import StyleGANPreset


def upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """The one place that completes an older record: files written before transitional conditioning record no
    `conditioning` and were trained with class concatenation."""
    return {"conditioning": "concat", **record}


@dataclass(frozen=True)
class StyleGANArchitecture:
    """The Generator's resolved constructor arguments; the discriminator shares all but z_dim and w_dim.

    num_classes: 0 for an unconditional model. conv_clamp: None for no clamp. conditioning: "concat" or
    "transitional" (always "concat" when unconditional, since then it changes nothing).
    """

    z_dim: int
    w_dim: int
    num_classes: int
    resolution: int  # pixels per side
    img_channels: int
    channel_base: int
    channel_max: int
    mapping_layers: int
    num_fp16_res: int
    conv_clamp: float | None
    conditioning: Conditioning = "concat"

    @classmethod
    def from_preset(cls, preset: StyleGANPreset, *, img_channels: int, num_classes: int) -> StyleGANArchitecture:
        return cls(z_dim=preset.z_dim, w_dim=preset.w_dim, num_classes=num_classes, resolution=preset.resolution,
                   img_channels=img_channels, channel_base=preset.channel_base, channel_max=preset.channel_max,
                   mapping_layers=preset.mapping_layers, num_fp16_res=preset.num_fp16_res,
                   conv_clamp=preset.conv_clamp, conditioning=preset.conditioning if num_classes else "concat")

    def to_dict(self) -> dict[str, Any]:
        """The record a checkpoint keeps (JSON-safe; conv_clamp a float or None, as files have always held)."""
        record = dataclasses.asdict(self)
        return {key: (float(value) if isinstance(value, float) else value) for key, value in record.items()}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> StyleGANArchitecture:
        """A recorded architecture of any age (see `upgrade`); keys this version does not know are ignored.
        Raises KeyError naming a field the record lacks and no upgrade supplies."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in upgrade(record).items() if key in known})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> StyleGANArchitecture | None:
        """What a whole checkpoint dict records (None for a format-1 file, which records nothing)."""
        recorded = checkpoint_architecture(checkpoint)
        return None if recorded is None else cls.from_dict(recorded)

    def generator(self, *, channels_last: bool = True) -> Generator:
        """A fresh Generator with these arguments (random weights)."""
        return Generator(**dataclasses.asdict(self), channels_last=channels_last)

    def discriminator(self, *, residual: bool, channels_last: bool = True) -> Discriminator:
        """A fresh Discriminator for the same images, classes and capacity; `residual`: resnet blocks, else 'orig'."""
        return Discriminator(num_classes=self.num_classes, resolution=self.resolution, img_channels=self.img_channels,
                             channel_base=self.channel_base, channel_max=self.channel_max,
                             mapping_layers=self.mapping_layers, num_fp16_res=self.num_fp16_res,
                             conv_clamp=self.conv_clamp, architecture="resnet" if residual else "orig",
                             conditioning=self.conditioning, channels_last=channels_last)
