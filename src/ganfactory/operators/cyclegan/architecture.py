"""The CycleGAN / CUT networks a checkpoint records (its meta["architecture"]): one frozen value that builds the
generators and discriminators of training and the generator of translation, written with `to_dict` and read with
`from_dict`, which takes files of every age through the one `upgrade` below."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ganfactory.engine.checkpoint import checkpoint_architecture
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.networks import (
    PatchDiscriminator,
    ResnetGenerator,
    default_n_blocks,
    default_n_layers,
)


def upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """The one place that completes an older record: files written before the input skip existed record none and
    were trained without it; files written before the lerp skip record no skip_mode and used the tanh skip; files
    without a mode are CycleGAN's (CUT and FastCUT record theirs)."""
    record = {"input_skip": False, "mode": "cyclegan", **record}
    return {"skip_mode": "tanh", **record} if record["input_skip"] else record


@dataclass(frozen=True)
class CycleGANArchitecture:
    """Generators: ResnetGenerator(channels -> channels, base_channels, n_blocks, input skip); discriminators: the
    PatchGAN as deep as (height, width) allows. height x width: the trained image size in pixels. skip_mode matters
    only with input_skip (and is recorded only then)."""

    channels: int
    base_channels: int
    n_blocks: int
    height: int
    width: int
    input_skip: bool
    skip_mode: Literal["lerp", "tanh"] = "lerp"
    mode: Literal["cyclegan", "cut", "fastcut"] = "cyclegan"

    @classmethod
    def from_config(cls, config: CycleGANConfig) -> CycleGANArchitecture:
        return cls(channels=config.image_channel, base_channels=config.base_channels,
                   n_blocks=config.n_blocks or default_n_blocks(config.image_height, config.image_width),
                   height=config.image_height, width=config.image_width, input_skip=config.input_skip,
                   skip_mode=config.skip_mode, mode=config.mode)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's record, keyed as files have always been: skip_mode only with the input skip, mode only
        for the one-sided modes (whose checkpoints hold other networks)."""
        record = dataclasses.asdict(self)
        if not self.input_skip:
            del record["skip_mode"]
        if self.mode == "cyclegan":
            del record["mode"]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> CycleGANArchitecture:
        """A recorded architecture of any age (see `upgrade`); keys this version does not know are ignored."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in upgrade(record).items() if key in known})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> CycleGANArchitecture | None:
        """What a whole checkpoint dict records (None for a format-1 file, which records nothing)."""
        recorded = checkpoint_architecture(checkpoint)
        return None if recorded is None else cls.from_dict(recorded)

    def generator(self) -> ResnetGenerator:
        """A fresh generator (random weights); both directions have the same shape."""
        return ResnetGenerator(self.channels, self.channels, base_channels=self.base_channels, n_blocks=self.n_blocks,
                               input_skip=self.input_skip, skip_mode=self.skip_mode)

    def discriminator(self) -> PatchDiscriminator:
        """A fresh PatchGAN discriminator for images of this size (random weights)."""
        return PatchDiscriminator(self.channels, base_channels=self.base_channels,
                                  n_layers=default_n_layers(self.height, self.width))
