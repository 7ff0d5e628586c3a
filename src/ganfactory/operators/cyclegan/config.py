"""CycleGAN parameters: the ModelArts names and defaults, plus options with sensible defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ganfactory.config import RunOptions, check_power_of_two


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
