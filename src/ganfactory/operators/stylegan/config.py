"""StyleGAN2-ADA parameters: the ModelArts names and defaults, plus options with sensible defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ganfactory.config import OperatorConfig, RunOptions, check_power_of_two


class StyleGANConfig(RunOptions):
    # ModelArts contract (with predict, resume, do_validation from RunOptions)
    resolution: int = 256
    batch_size: int = Field(8, ge=1, le=4096)
    total_kimg: float = Field(300, gt=0)
    generate_num: int = Field(300, ge=0)
    # Model and training
    cfg: Literal["auto", "stylegan2", "paper256", "cifar", "small"] = "auto"
    aug: Literal["ada", "noaug", "fixed"] = "ada"
    augment_p: float = Field(0.0, ge=0, le=1)  # the starting p for ada, the constant p for fixed
    target: float = Field(0.6, gt=0, lt=1)
    mirror: bool = False
    gamma: float | None = Field(None, ge=0, description="R1 weight (default: the preset's).")
    lr: float | None = Field(None, gt=0, description="Adam learning rate (default: the preset's).")
    cbase: int | None = Field(None, ge=16, description="Capacity: feature maps = cbase / resolution (default: the preset's).")
    cmax: int | None = Field(None, ge=1, description="Most feature maps per layer (default: the preset's).")
    map_layers: int | None = Field(None, ge=1, description="Mapping network depth (default: the preset's).")
    tick_kimg: float = Field(4.0, gt=0)
    snapshot_ticks: int = Field(1, ge=1)
    # Data
    channels: Literal[0, 1, 3] = 0  # 0: 1 when every image is grayscale, else 3
    mode: Literal["crop", "pad"] = "crop"
    background: str = "white"
    # Generation
    truncation: float = Field(1.0, ge=0, le=2)

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: int) -> int:
        return check_power_of_two(value, minimum=8, maximum=1024)


class StyleGANSampleOptions(OperatorConfig):
    """What `ganfactory generate MODEL OUT` reads (the architecture and classes come from MODEL): only these are
    offered, so a training flag there is an error rather than silently ignored."""

    generate_num: int = Field(300, ge=0, description="Images per class.")
    seed: int = Field(0, ge=0, description="Image i uses seed SEED + i.")
    truncation: float = Field(1.0, ge=0, le=2)
    image_format: Literal["png", "jpg"] = "png"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16 where the device has native bf16, else fp16 on CUDA, else fp32.")
