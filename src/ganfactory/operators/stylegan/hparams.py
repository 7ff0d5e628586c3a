"""What StyleGAN's training step reads from the run's options, apart from the preset: a small frozen value built
by `from_config`, so renaming or adding a command-line option never touches the training code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ganfactory.operators.stylegan.config import StyleGANConfig


@dataclass(frozen=True)
class StyleGANTraining:
    """The trainable's hyper-parameters (the architecture and losses come from the StyleGANPreset beside it).

    lr: Adam's learning rate, None for the preset's. ada_kimg: ADA's speed, None for the preset's. aug: "ada",
    "noaug" or "fixed" (augment_p then the constant p). record: the run's options as config.json holds them,
    saved in every checkpoint (format-1 readers rebuild the networks from it); never read by training.
    """

    total_kimg: float
    batch_size: int  # images per step over all ranks
    seed: int
    lr: float | None = None
    aug: Literal["ada", "noaug", "fixed"] = "ada"
    augment_p: float = 0.0
    target: float = 0.6  # ADA's target overfitting heuristic r_t
    ada_kimg: float | None = None
    mirror: bool = False  # x-flips double the data
    class_grouped_mbstd: bool = False
    stop_on_divergence: bool = False
    divergence_patience: int = 3
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: StyleGANConfig) -> StyleGANTraining:
        return cls(total_kimg=config.total_kimg, batch_size=config.batch_size, seed=config.seed, lr=config.lr,
                   aug=config.aug, augment_p=config.augment_p, target=config.target, ada_kimg=config.ada_kimg,
                   mirror=config.mirror, class_grouped_mbstd=config.class_grouped_mbstd,
                   stop_on_divergence=config.stop_on_divergence, divergence_patience=config.divergence_patience,
                   record=config.to_json_dict())

    def to_json_dict(self) -> dict[str, Any]:
        """The run's options (`record`), as checkpoints have always stored them under "config"."""
        return dict(self.record)
