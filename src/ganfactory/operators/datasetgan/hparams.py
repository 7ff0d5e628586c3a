"""What the style interpreter's training reads from `datasetgan train`'s options: a small frozen value built by
`from_config`, so renaming or adding a command-line option never touches the training code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganfactory.operators.datasetgan.config import DatasetGANConfig


@dataclass(frozen=True)
class InterpreterTraining:
    """epochs: passes over the annotated images (at most: early stop after min_epochs once every member went
    `patience` steps without a better batch loss). window: annotated images whose feature maps are held at once.
    record: the run's options as config.json holds them, saved in every checkpoint; never read by training."""

    members: int = 10
    epochs: float = 20.0
    pixels_per_step: int = 64  # per member
    steps_per_image: int = 64  # per annotated image and epoch
    window: int = 2
    lr: float = 1e-3
    patience: int = 50
    min_epochs: float = 3.0
    seed: int = 0
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: DatasetGANConfig) -> InterpreterTraining:
        return cls(members=config.members, epochs=config.epochs, pixels_per_step=config.pixels_per_step,
                   steps_per_image=config.steps_per_image, window=config.window, lr=config.lr,
                   patience=config.patience, min_epochs=config.min_epochs, seed=config.seed,
                   record=config.to_json_dict())

    def to_json_dict(self) -> dict[str, Any]:
        """The run's options (`record`), as checkpoints have always stored them under "config"."""
        return dict(self.record)
