"""DatasetGAN parameters, one model per step, each holding only what that step reads (its --help lists those):
`sample` (SampleOptions), `train` (DatasetGANConfig, the operator's config: the interpreter, and the pairs
`train --num N` writes after training), `generate` (GenerateOptions, a subset of DatasetGANConfig's fields) and
`evaluate` (SegmentationEvalConfig, the downstream segmentation check).

No step offers --precision: the interpreter and the pair labelling compute in fp32 on every device (the feature
maps are held in fp16 to halve their memory, whatever a precision flag would say)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ganfactory.config import OperatorConfig, PrecisionChoice, RunOptions
from ganfactory.output.shards import Shard

Device = Literal["auto", "cpu", "cuda"]


class _Sampling(OperatorConfig):
    """Which StyleGAN images a step draws: truncation and class (sample and generate alike)."""

    truncation: float = Field(0.7, ge=0, le=2, description="Truncation psi (the paper: 0.7).")
    class_name: str | None = Field(None, description="Conditional StyleGAN: sample only this class "
                                                     "(default: cycle through the classes).")


class SampleOptions(_Sampling):
    """`datasetgan sample RUN OUT`: the images to annotate."""

    num: int = Field(0, ge=0, description="Images to sample for annotation (added to those OUT holds).")
    seed: int = Field(0, ge=0, description="Image i uses seed SEED + i.")
    device: Device = "auto"


class _Pairs(_Sampling):
    """How labelled pairs are generated: after `train --num N` and by `generate`."""

    num: int = Field(0, ge=0, description="Image + mask pairs to keep (0: none).")
    drop_uncertain: float = Field(0.1, ge=0, lt=1, description="Fraction of the most uncertain samples dropped.")
    batch: int = Field(4, ge=1, description="Images synthesised at once when generating.")
    pixel_chunk: int = Field(16384, ge=64, description="Pixels classified at once (bounds feature memory).")
    shard: str = Field("", description="K/N, label only shard K of N of the candidates (every N-th seed), so N "
                       "machines fill one OUT; the last shard to finish selects the pairs.")

    @field_validator("shard")
    @classmethod
    def _shard_is_k_of_n(cls, value: str) -> str:
        if value:
            Shard.parse(value)
        return value

    @property
    def shard_part(self) -> Shard | None:
        return Shard.parse(self.shard) if self.shard else None


class GenerateOptions(_Pairs):
    """`datasetgan generate OUT`: pairs from OUT's trained interpreter."""

    seed: int = Field(0, ge=0, description="Candidate i uses seed SEED + i (after the annotated samples' seeds).")
    device: Device = "auto"


class DatasetGANConfig(RunOptions, _Pairs):
    """`datasetgan train OUT`: the style interpreter (an ensemble of pixel MLPs), then --num pairs if given."""

    # Not a flag (see the module's docstring); fixed so that "auto" cannot resolve to a precision nothing uses.
    precision: PrecisionChoice = "fp32"
    # the style interpreter
    members: int = Field(10, ge=1, le=64, description="Ensemble members (the paper: 10).")
    epochs: float = Field(20.0, gt=0, description="Passes over the annotated images (at most; early stop).")
    pixels_per_step: int = Field(64, ge=2, description="Pixels per member per step (the paper: 64).")
    steps_per_image: int = Field(64, ge=1, description="Steps per annotated image per epoch.")
    window: int = Field(2, ge=1, description="Annotated images whose feature maps are held at once "
                                             "(memory is flat in the number of annotated images).")
    lr: float = Field(1e-3, gt=0)
    patience: int = Field(50, ge=1, description="Early stop: steps without a better batch loss (the paper: 50).")
    min_epochs: float = Field(3.0, ge=0, description="No early stop before this many epochs (the paper: 3).")
    min_images: int = Field(1, ge=1)

    def pair_options(self) -> GenerateOptions:
        """What generating the pairs after training reads, as `generate` would take it."""
        return GenerateOptions(**{name: getattr(self, name) for name in GenerateOptions.model_fields})


# What `ganfactory generate FOLDER OUT` reads for a DatasetGAN folder (its interpreter, generator and classes come
# from FOLDER): the same options as `datasetgan generate`.
DatasetGANSampleOptions = GenerateOptions


class SegmentationEvalConfig(OperatorConfig):
    """`datasetgan evaluate`: the downstream U-Net trained on annotated / generated pairs, scored on real ones."""

    real_test: str = Field("", description="Folder of real test images (images/*.png) and their masks (masks/, "
                                           "any format of the annotations).")
    epochs: float = Field(20.0, gt=0, description="Passes over the largest training set (the generated pairs); "
                                                  "every model trains for the same number of steps.")
    size: int | None = Field(None, ge=8, description="Side in pixels every image is scaled to (default: the "
                                                     "annotated images').")
    width: int = Field(16, ge=2, le=256, description="U-Net channels at full resolution (doubled per level).")
    levels: int = Field(4, ge=2, le=6, description="U-Net resolutions (the side must divide by 2**(levels-1)).")
    batch: int = Field(8, ge=1, description="Images per step.")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate.")
    flip: bool = Field(True, description="Random horizontal flips of the training pairs.")
    combined: bool = Field(True, description="Also train on the generated plus the annotated pairs.")
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
