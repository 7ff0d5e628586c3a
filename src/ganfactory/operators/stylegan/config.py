"""StyleGAN2-ADA parameters: the ModelArts names and defaults, plus options with sensible defaults."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ganfactory.config import PRECISION_HELP, OperatorConfig, PrecisionChoice, RunOptions, check_power_of_two
from ganfactory.output.shards import Shard

TRAINING_METRICS = ("kid", "fid")


class GenerationChoices(OperatorConfig):
    """How many images each class gets and the memorisation gate: read by training runs and `generate` alike."""

    balance: bool = Field(False, description="Generate more images for smaller classes: every class ends with as many "
                          "images (its real ones + generated) as the largest real class has, plus --generate-num.")
    per_class_target: int | None = Field(None, ge=1, description="Generate N minus the class's real images for each "
                                         "class, so every class ends with N images (real + generated); replaces "
                                         "--generate-num.")
    max_similarity: float | None = Field(None, gt=-1, le=1, description="Drop a generated image whose feature cosine "
                                         "to its nearest training image is at or above this (e.g. 0.95) and draw "
                                         "the next seed instead; the count dropped is reported.")
    nearest: bool = Field(False, description="Record each generated image's nearest training image (feature cosine "
                          "and pixel RMSE) in its manifest line without dropping any (implied by --max-similarity).")
    min_class_confidence: float | None = Field(None, ge=0, le=1, description="Keep a generated image only when a "
                                               "small classifier trained on the real training images gives its class "
                                               "at least this probability (e.g. 0.9), else draw the next seed; the "
                                               "count dropped is reported (class-conditional models).")
    training_data: str = Field("", description="The training images for --balance, --per-class-target, the "
                               "memorisation gate and --min-class-confidence (default: DATA, or the data folder the "
                               "model's run recorded).")
    shard: str = Field("", description="K/N: write only shard K of N of the images (every N-th seed of each class), "
                       "so N machines generate into one OUT; the last shard to finish merges the manifests.")

    @model_validator(mode="after")
    def _one_count_rule(self) -> GenerationChoices:
        if self.balance and self.per_class_target is not None:
            raise ValueError("--balance and --per-class-target exclude each other; use one of them")
        if self.shard:
            Shard.parse(self.shard)
            if self.max_similarity is not None:
                # Dropped near-copies are replaced by the next seeds, which depend on every earlier drop.
                raise ValueError("--shard and --max-similarity exclude each other; generate unsharded to gate")
        return self

    @property
    def shard_part(self) -> Shard | None:
        return Shard.parse(self.shard) if self.shard else None

    @property
    def read_paths(self) -> tuple[Path, ...]:
        return (Path(self.training_data),) if self.training_data else ()

    @property
    def needs_training_images(self) -> bool:
        return (self.balance or self.per_class_target is not None or self.gate_active
                or self.min_class_confidence is not None)

    @property
    def gate_active(self) -> bool:
        return self.nearest or self.max_similarity is not None


class StyleGANConfig(RunOptions, GenerationChoices):
    path_fields: ClassVar[tuple[str, ...]] = ("resume", "training_data", "features")
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
    ada_kimg: float | None = Field(None, gt=0, description="ADA speed: thousands of images for p to go from 0 to 1 "
                                   "(default: the preset's; 500 in the paper's, 20 in 'small').")
    mirror: bool = False
    gamma: float | None = Field(None, ge=0, description="R1 weight (default: the preset's).")
    lr: float | None = Field(None, gt=0, description="Adam learning rate (default: the preset's).")
    cbase: int | None = Field(None, ge=16,
                              description="Capacity: feature maps = cbase / resolution (default: the preset's).")
    cmax: int | None = Field(None, ge=1, description="Most feature maps per layer (default: the preset's).")
    map_layers: int | None = Field(None, ge=1, description="Mapping network depth (default: the preset's).")
    mode_seeking: float | None = Field(None, ge=0, description="Weight of the mode-seeking term in G's loss (Mao et "
                                       "al. 2019, MSGAN: images of one class drawn from far-apart z must differ); 0 "
                                       "turns it off. Default: the preset's (0.1 in 'small'; 0 in the paper's "
                                       "presets; at 1 digits stayed varied but stopped looking like digits).")
    diffaugment: bool | None = Field(None, description="DiffAugment (Zhao et al. 2020): colour, translation and cutout "
                                     "on every image D sees (real and generated) and on G's images, beside ADA. "
                                     "Default: the preset's.")
    lecam: float | None = Field(None, ge=0, description="Weight of the LeCam regulariser on D (Tseng et al. 2021; "
                                "0: off). Default: the preset's (0.1 in 'small', 0 in the paper's presets).")
    class_mismatch: float | None = Field(None, ge=0, description="Weight of the class-mismatch term: D also sees "
                                         "each real image with a wrong label and learns to call that pair fake, so "
                                         "it tells the classes apart early. Default: the preset's (3 in 'small', 0 in "
                                         "the paper's presets); 0 turns it off.")
    dual_projection: float | None = Field(None, ge=0, description="Weight of the dual projection's class term (Han "
                                          "et al. 2021, P2GAN): D's projection head is also trained as a classifier "
                                          "of the real images, and G is trained to make images it classifies as "
                                          "their class. Default: the preset's; 0 turns it off.")
    class_grouped_mbstd: bool = Field(False, description="Draw conditional batches so that each minibatch-std group "
                                      "holds one class, so the discriminator sees how varied each class is (with mixed "
                                      "classes a generator that makes one image per class looks varied to it). On real "
                                      "digits it slowed the learning of the classes, hence off by default.")
    conditioning: Literal["transitional", "concat"] | None = Field(
        None, description="Class conditioning: 'concat' (StyleGAN2-ADA) or 'transitional' (Shahbazi et al. 2022: "
        "unconditional first, the class ramped in from --t-start-kimg to --t-end-kimg). Default: the preset's "
        "(concat).")
    t_start_kimg: float | None = Field(None, ge=0, description="Transitional conditioning: kimg at which the class "
                                       "starts to count (default: 2,000, the paper's example, or a tenth of "
                                       "--total-kimg if less).")
    t_end_kimg: float | None = Field(None, ge=0, description="Transitional conditioning: kimg from which the model is "
                                     "fully conditional (default: 4,000, or half of --total-kimg if less).")
    tick_kimg: float = Field(4.0, gt=0)
    snapshot_ticks: int = Field(1, ge=1)
    # Data
    channels: Literal[0, 1, 3] = 0  # 0: 1 when every image is grayscale, else 3
    mode: Literal["crop", "pad"] = "crop"
    background: str = "white"
    # Metrics during training, the best checkpoint and the stability monitor
    metrics: str = Field("", description="Comma-separated metrics computed during training (kid, fid); the first "
                         "picks the best checkpoint (model/best.pt). Empty: none.")
    metrics_ticks: int = Field(1, ge=1, description="Compute --metrics every this many ticks (and at the end).")
    metrics_images: int = Field(256, ge=2, description="Generated and real images per metric evaluation (a fixed "
                                "subset of the training images).")
    features: str = Field("", description="Feature network for --metrics and the memorisation gate: a TorchScript or "
                          "ONNX file (default: the shipped FID Inception).")
    stop_on_divergence: bool = Field(False, description="Stop training early when the stability monitor flags "
                                     "divergence.")
    divergence_patience: int = Field(3, ge=1, description="Ticks (or metric evaluations) a sign of divergence must "
                                     "last before it is flagged.")
    # Generation
    truncation: float = Field(1.0, ge=0, le=2)

    @model_validator(mode="after")
    def _transition_in_order(self) -> StyleGANConfig:
        if self.t_start_kimg is not None and self.t_end_kimg is not None and self.t_end_kimg < self.t_start_kimg:
            raise ValueError(f"--t-end-kimg {self.t_end_kimg:g} comes before --t-start-kimg {self.t_start_kimg:g}; "
                             "the class is ramped in from start to end, so give end >= start")
        return self

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: str) -> str:
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in TRAINING_METRICS]
        if unknown:
            raise ValueError(f"unknown metric '{unknown[0]}'; use kid, fid or both (e.g. kid,fid)")
        return ",".join(dict.fromkeys(names))

    @property
    def metric_names(self) -> list[str]:
        return [name for name in self.metrics.split(",") if name]

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: int) -> int:
        return check_power_of_two(value, minimum=8, maximum=1024)


class StyleGANSampleOptions(GenerationChoices):
    """What `ganfactory generate MODEL OUT` reads (the architecture and classes come from MODEL): only these are
    offered, so a training flag there is an error rather than silently ignored."""

    generate_num: int = Field(300, ge=0, description="Images per class.")
    seed: int = Field(0, ge=0, description="Image i uses seed SEED + i.")
    truncation: float = Field(1.0, ge=0, le=2)
    image_format: Literal["png", "jpg"] = "png"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: PrecisionChoice = Field("auto", description=PRECISION_HELP)
    features: str = Field("", description="Feature network for the memorisation gate: a TorchScript or ONNX file "
                          "(default: the shipped FID Inception).")
