"""What the StackGAN training stages read from the run's options (the networks come from StackGANArchitecture):
a small frozen value built by `from_config`, so renaming or adding a command-line option never touches the
training code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganfactory.operators.stackgan.config import StackGANConfig


@dataclass(frozen=True)
class StackGANTraining:
    """Both stages' hyper-parameters. lr: Adam's rate for G and D, halved every lr_decay_epochs (stage I) or
    stage2_lr_decay_epochs (stage II). captions_per_embedding: a training embedding is the mean of this many of an
    image's captions. record: the run's options as config.json holds them, saved in every checkpoint."""

    batch_size: int
    seed: int
    stage1_epochs: int
    stage2_epochs: int
    lr: float = 2e-4
    lr_decay_epochs: int = 50
    stage2_lr_decay_epochs: int = 100
    kl_weight: float = 2.0
    mirror: bool = True  # random x-flips of the training images
    captions_per_embedding: int = 4
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: StackGANConfig) -> StackGANTraining:
        return cls(batch_size=config.batch_size, seed=config.seed, stage1_epochs=config.stage1_epochs,
                   stage2_epochs=config.stage2_epochs, lr=config.lr, lr_decay_epochs=config.lr_decay_epochs,
                   stage2_lr_decay_epochs=config.stage2_lr_decay_epochs, kl_weight=config.kl_weight,
                   mirror=config.mirror, captions_per_embedding=config.captions_per_embedding,
                   record=config.to_json_dict())

    def to_json_dict(self) -> dict[str, Any]:
        """The run's options (`record`), as checkpoints have always stored them under "config"."""
        return dict(self.record)
