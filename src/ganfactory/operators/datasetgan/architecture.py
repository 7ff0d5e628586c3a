"""The style interpreter a DatasetGAN checkpoint records (its meta["architecture"]): one frozen value, written with
`to_dict` and read with `from_dict` (keys this version does not know are ignored)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ganfactory.engine.checkpoint import checkpoint_architecture
from ganfactory.operators.datasetgan.ensemble import PixelEnsemble


@dataclass(frozen=True)
class InterpreterArchitecture:
    """in_features: feature channels per pixel (the StyleGAN's maps stacked); num_classes: segmentation classes;
    members: ensemble members. Every record so far holds all three, so there is nothing to upgrade."""

    in_features: int
    num_classes: int
    members: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> InterpreterArchitecture:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: int(value) for key, value in record.items() if key in known})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> InterpreterArchitecture | None:
        """What a whole checkpoint dict records (None when it records nothing)."""
        recorded = checkpoint_architecture(checkpoint)
        return None if recorded is None else cls.from_dict(recorded)

    def ensemble(self) -> PixelEnsemble:
        """A fresh ensemble (random weights)."""
        return PixelEnsemble(in_features=self.in_features, num_classes=self.num_classes, members=self.members)
