"""CycleGAN parameters: the ModelArts names and defaults, plus options with sensible defaults.

`mode` picks the method: "cyclegan" (Zhu et al. 2017, the ModelArts operator) or the one-sided "cut" / "fastcut"
(Park et al. 2020, contrastive unpaired translation). A CUT mode takes the reference's defaults for whatever the
user did not set: lr 2e-4 (CUT and FastCUT), lambda_nce 10, no identity NCE, flip equivariance and the decay over
the last quarter of the epochs (FastCUT's 150 + 50).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ganfactory.config import RunOptions, check_power_of_two, options_subset


class CycleGANConfig(RunOptions):
    # ModelArts contract (with predict, resume, do_validation from RunOptions)
    image_channel: Literal[1, 3] = 3
    image_height: int = 256
    image_width: int = 256
    batch_size: int = Field(1, ge=1, le=1024)
    max_epoch: int = Field(100, ge=1)
    g_learning_rate: float = Field(1e-4, gt=0)
    d_learning_rate: float = Field(1e-4, gt=0)
    log_frequency: int = Field(5, ge=1, description="Steps between loss logs.")
    save_frequency: int = Field(5, ge=1, description="Epochs between checkpoints.")
    # Model and training
    mode: Literal["cyclegan", "cut", "fastcut"] = Field("cyclegan", description="cyclegan: two generators with "
                                                        "cycle loss; cut / fastcut: one generator with the PatchNCE "
                                                        "loss (Park et al. 2020), source -> target only.")
    direction: Literal["ab", "both"] = "ab"
    load_size: int | None = Field(None, ge=1, description="Resize the shorter side to this before the random crop "
                                  "(default: size * 286/256).")
    decay_fraction: float = Field(0.5, ge=0, le=1, description="Fraction of max_epoch before the linear lr decay.")
    n_blocks: int | None = Field(None, ge=1, description="Residual blocks (default: 9 at 256 px and above, else 6).")
    base_channels: int = Field(64, ge=1)
    input_skip: bool = Field(True, description="Generators add their output to the input image, so colours pass "
                             "through (False: the paper's generator, blind to per-image colour shifts).")
    skip_mode: Literal["lerp", "tanh"] = Field("lerp", description="How the skip adds the network's output t = "
                                               "tanh(net(x)): 'lerp' moves x toward white (t > 0) or black (t < 0) "
                                               "by the fraction |t|; 'tanh' is tanh(net(x) + atanh(x)), which can "
                                               "hardly darken white (its slope there is 0.002).")
    lambda_cycle: float = Field(10.0, ge=0)
    lambda_identity: float = Field(0.5, ge=0)
    pool_size: int = Field(50, ge=0)
    min_images: int = Field(1, ge=1)  # RunOptions' 70 is a GAN-from-scratch floor; a domain may be small
    translate_batch: int = Field(8, ge=1)
    structure_report: bool = Field(False, description="After translating, write OUT/structure_report.json: edge "
                                   "agreement and SSIM of each source with its translation, KID of translations "
                                   "and of sources to TARGET (did it keep the content and take the style?).")
    # CUT / FastCUT (ignored by mode cyclegan)
    lambda_nce: float = Field(1.0, ge=0, description="PatchNCE weight (default 1 for cut, 10 for fastcut).")
    nce_idt: bool = Field(True, description="Identity PatchNCE on target images (default on for cut, off for "
                          "fastcut).")
    flip_equivariance: bool = Field(False, description="Flip the generator's input at random and its features "
                                    "back (default off for cut, on for fastcut).")
    lambda_gan: float = Field(1.0, ge=0, description="Adversarial weight of the CUT modes.")
    num_patches: int = Field(256, ge=1, description="Patches sampled per encoder layer for PatchNCE.")
    nce_temperature: float = Field(0.07, gt=0)
    nce_mlp_units: int = Field(256, ge=1, description="Units of the two-layer MLP head on each encoder layer.")

    @model_validator(mode="before")
    @classmethod
    def _mode_defaults(cls, data: Any) -> Any:
        """The reference's defaults of a CUT mode, for the values the user left unset."""
        if not isinstance(data, dict) or data.get("mode") not in ("cut", "fastcut"):
            return data
        defaults: dict[str, Any] = {"g_learning_rate": 2e-4, "d_learning_rate": 2e-4}
        if data["mode"] == "fastcut":
            defaults.update(lambda_nce=10.0, nce_idt=False, flip_equivariance=True, decay_fraction=0.75)
        return {**defaults, **data}

    def one_sided_problem(self) -> str:
        """The sentence refusing a direction a CUT mode cannot translate ("" when the options fit)."""
        if self.mode != "cyclegan" and self.direction == "both":
            return (f"--mode {self.mode} trains no target -> source generator (CUT is one-sided), so --direction both "
                    "is not available; use --mode cyclegan to translate both ways.")
        return ""

    @field_validator("image_height", "image_width")
    @classmethod
    def _size(cls, value: int) -> int:
        return check_power_of_two(value, minimum=16, maximum=4096)

    def load_hw(self) -> tuple[int, int]:
        """(height, width) images are resized to before the random crop back to the training size."""
        if self.load_size is not None:
            scale = self.load_size / min(self.image_height, self.image_width)
        else:
            scale = 286 / 256  # the reference's 286 -> 256 jitter
        return (max(self.image_height, round(self.image_height * scale)),
                max(self.image_width, round(self.image_width * scale)))


CycleGANSampleOptions = options_subset(
    CycleGANConfig, "CycleGANSampleOptions", ("translate_batch", "image_format", "device", "precision"),
    "What `ganfactory generate MODEL OUT --source DIR` reads for a CycleGAN model (its size and direction come "
    "from MODEL).")
