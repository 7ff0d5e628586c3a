"""What the CycleGAN and CUT training steps read from the run's options: a small frozen value built by
`from_config`, so renaming or adding a command-line option never touches the training code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ganfactory.operators.cyclegan.architecture import CycleGANArchitecture
from ganfactory.operators.cyclegan.config import CycleGANConfig


@dataclass(frozen=True)
class CycleGANTraining:
    """The trainables' hyper-parameters. architecture: the networks (generators and discriminators alike) and the
    trained crop size. The mode's defaults (CUT: lr 2e-4, lambda_nce 1, ...) are resolved by CycleGANConfig first.
    record: the run's options as config.json holds them, saved in every checkpoint; never read by training."""

    architecture: CycleGANArchitecture
    mode: Literal["cyclegan", "cut", "fastcut"]
    batch_size: int  # images per step over all ranks
    max_epoch: int
    seed: int
    g_learning_rate: float
    d_learning_rate: float
    decay_fraction: float  # of max_epoch at a constant rate before the linear decay
    # CycleGAN
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    # CUT / FastCUT
    lambda_gan: float = 1.0
    lambda_nce: float = 1.0
    nce_idt: bool = True
    flip_equivariance: bool = False
    num_patches: int = 256
    nce_temperature: float = 0.07
    nce_mlp_units: int = 256
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: CycleGANConfig) -> CycleGANTraining:
        return cls(architecture=CycleGANArchitecture.from_config(config), mode=config.mode,
                   batch_size=config.batch_size, max_epoch=config.max_epoch, seed=config.seed,
                   g_learning_rate=config.g_learning_rate, d_learning_rate=config.d_learning_rate,
                   decay_fraction=config.decay_fraction, lambda_cycle=config.lambda_cycle,
                   lambda_identity=config.lambda_identity, pool_size=config.pool_size, lambda_gan=config.lambda_gan,
                   lambda_nce=config.lambda_nce, nce_idt=config.nce_idt, flip_equivariance=config.flip_equivariance,
                   num_patches=config.num_patches, nce_temperature=config.nce_temperature,
                   nce_mlp_units=config.nce_mlp_units, record=config.to_json_dict())

    @property
    def image_height(self) -> int:
        """The trained crop's height in pixels."""
        return self.architecture.height

    @property
    def image_width(self) -> int:
        """The trained crop's width in pixels."""
        return self.architecture.width

    def to_json_dict(self) -> dict[str, Any]:
        """The run's options (`record`), as checkpoints have always stored them under "config"."""
        return dict(self.record)
