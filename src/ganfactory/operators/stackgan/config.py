"""StackGAN parameters (Zhang et al. 2017; defaults from the reference's birds configuration)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from ganfactory.config import RunOptions, check_power_of_two, options_subset


class StackGANConfig(RunOptions):
    path_fields: ClassVar[tuple[str, ...]] = ("resume", "captions")

    stage1_resolution: int = Field(64, description="Stage-I image size (the paper: 64).")
    resolution: int = Field(256, description="Stage-II image size (the paper: 256 = 4 x stage I).")
    stage1_epochs: int = Field(600, ge=1)
    stage2_epochs: int = Field(600, ge=0, description="0: train stage I only (generation then uses stage I).")
    batch_size: int = Field(64, ge=2, le=4096, description="At least 2: wrong pairs shift captions within a batch.")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate of G and D (betas 0.5, 0.999).")
    lr_decay_epochs: int = Field(50, ge=1, description="Stage I: halve the learning rate every this many epochs.")
    stage2_lr_decay_epochs: int = Field(100, ge=1,
                                        description="Stage II: halve the learning rate every this many epochs.")
    gf: int = Field(128, ge=2, description="Generator width (GF_DIM): stage-I G starts at 8*gf channels.")
    df: int = Field(64, ge=1, description="Discriminator width (DF_DIM).")
    z_dim: int = Field(100, ge=1)
    condition_dim: int = Field(128, ge=1, description="Conditioning-augmentation output size.")
    kl_weight: float = Field(2.0, ge=0)
    res_blocks: int = Field(4, ge=0, description="Stage-II residual blocks (the paper: 4; 2 for COCO).")
    mirror: bool = Field(True, description="Random horizontal flips of the training images, as the reference "
                         "does; turn off (--no-mirror) for text, glyphs or anything a mirror image changes.")
    standardise_embeddings: bool = Field(True, description="Centre and scale each sentence-embedding dimension "
                                         "with the training captions' statistics before conditioning augmentation "
                                         "(unit-length sentence-transformers embeddings are otherwise drowned by "
                                         "CA's noise); --no-standardise-embeddings feeds them raw, as the reference.")
    captions_per_embedding: int = Field(4, ge=1, description="Training embedding = mean of this many of an "
                                        "image's caption embeddings, drawn at random.")
    captions: str = Field("", description="A text file, one sentence a line, to generate from (default: the "
                          "test split's captions).")
    generate_num: int = Field(4, ge=0, description="Images per caption.")
    encoder: str = Field("", description="Sentence encoder for --captions (default: the one DATA was prepared "
                         "with, else all-MiniLM-L6-v2).")
    sample_captions: int = Field(8, ge=1, le=64, description="Captions in a progress grid.")
    tick_epochs: float = Field(1.0, gt=0, description="A stats line and a sample grid every this many epochs.")
    snapshot_ticks: int = Field(1, ge=1)
    min_images: int = Field(2, ge=2)  # RunOptions' 70 is a GAN floor; a captioned dataset is judged by prepare

    @field_validator("stage1_resolution")
    @classmethod
    def _stage1(cls, value: int) -> int:
        return check_power_of_two(value, minimum=16, maximum=1024)

    @field_validator("resolution")
    @classmethod
    def _stage2(cls, value: int) -> int:
        return check_power_of_two(value, minimum=16, maximum=4096)

    @model_validator(mode="after")
    def _sizes(self) -> StackGANConfig:
        if self.resolution <= self.stage1_resolution:
            raise ValueError(f"resolution ({self.resolution}) must be larger than stage1_resolution "
                             f"({self.stage1_resolution}); the paper uses 256 over 64")
        return self


StackGANSampleOptions = options_subset(
    StackGANConfig, "StackGANSampleOptions",
    ("captions", "generate_num", "seed", "encoder", "image_format", "device", "precision"),
    "What `ganfactory generate MODEL OUT` reads for a StackGAN model (the networks come from MODEL).")
