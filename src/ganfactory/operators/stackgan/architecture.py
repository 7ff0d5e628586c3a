"""The StackGAN networks of one stage as a checkpoint records them (its meta["architecture"]): one frozen value that
builds the stage's generator and discriminator alike, written with `to_dict` and read with `from_dict`, which
takes files of every age through the one `upgrade` below."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ganfactory.engine.checkpoint import checkpoint_architecture
from ganfactory.operators.stackgan.config import StackGANConfig
from ganfactory.operators.stackgan.networks import Discriminator, Stage1Generator, Stage2Generator

STAGES = ("stage1", "stage2")
DEFAULT_DF = StackGANConfig.model_fields["df"].default  # what runs used when the option was not given


def upgrade(record: dict[str, Any], saved_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one place that completes an older record: files written before the embedding standardisation record no
    `standardise_embeddings` and fed raw embeddings; files written before D was built from the record give no
    `df`, which their saved config (the operator state's "config") holds."""
    record = {"standardise_embeddings": False, **record}
    if "df" not in record:
        record["df"] = int((saved_config or {}).get("df", DEFAULT_DF))
    return record


@dataclass(frozen=True)
class StackGANArchitecture:
    """One stage's networks. stage: "stage1" (16-64 px from text) or "stage2" (refines stage I's images up to
    `resolution`; its checkpoint also holds the frozen stage-I generator, built from the same record).
    embedding_dim: the sentence encoder's output size (encoder: its name). gf / df: generator / discriminator widths.
    """

    stage: Literal["stage1", "stage2"]
    embedding_dim: int
    condition_dim: int
    z_dim: int
    gf: int
    stage1_resolution: int
    resolution: int
    res_blocks: int
    encoder: str
    standardise_embeddings: bool
    df: int

    @classmethod
    def from_config(cls, config: StackGANConfig, *, stage: Literal["stage1", "stage2"], embedding_dim: int,
                    encoder: str) -> StackGANArchitecture:
        return cls(stage=stage, embedding_dim=embedding_dim, condition_dim=config.condition_dim, z_dim=config.z_dim,
                   gf=config.gf, stage1_resolution=config.stage1_resolution, resolution=config.resolution,
                   res_blocks=config.res_blocks, encoder=encoder,
                   standardise_embeddings=config.standardise_embeddings, df=config.df)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's record (JSON-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any], saved_config: dict[str, Any] | None = None) -> StackGANArchitecture:
        """A recorded architecture of any age (see `upgrade`); keys this version does not know are ignored.
        Raises ValueError for a record of no known stage."""
        if record.get("stage") not in STAGES:
            raise ValueError(f"stage {record.get('stage')!r} is not one of {', '.join(STAGES)}")
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in upgrade(record, saved_config).items() if key in known})

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> StackGANArchitecture | None:
        """What a whole checkpoint dict records (None when it records no StackGAN stage)."""
        recorded = checkpoint_architecture(checkpoint)
        if recorded is None or recorded.get("stage") not in STAGES:
            return None
        operator_state = checkpoint.get("operator")
        saved = operator_state.get("config") if isinstance(operator_state, dict) else None
        return cls.from_dict(recorded, saved if isinstance(saved, dict) else None)

    @property
    def size(self) -> int:
        """The side in pixels of this stage's images (and its discriminator's input)."""
        return self.stage1_resolution if self.stage == "stage1" else self.resolution

    def stage1_generator(self) -> Stage1Generator:
        """A fresh stage-I generator (random weights): this stage's own, or the one in front of stage II."""
        return Stage1Generator(embedding_dim=self.embedding_dim, condition_dim=self.condition_dim, z_dim=self.z_dim,
                               gf=self.gf, resolution=self.stage1_resolution, standardise=self.standardise_embeddings)

    def stage2_generator(self) -> Stage2Generator:
        """A fresh stage-II generator (random weights)."""
        return Stage2Generator(embedding_dim=self.embedding_dim, condition_dim=self.condition_dim, gf=self.gf,
                               stage1_resolution=self.stage1_resolution, resolution=self.resolution,
                               res_blocks=self.res_blocks, standardise=self.standardise_embeddings)

    def discriminator(self) -> Discriminator:
        """A fresh discriminator for this stage: matching-aware at stage I, with an unconditional head at stage II."""
        return Discriminator(df=self.df, condition_dim=self.condition_dim, resolution=self.size,
                             unconditional=self.stage == "stage2")
