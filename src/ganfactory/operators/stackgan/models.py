"""The text-to-image path of a trained StackGAN: embedding -> CA -> stage-I G (-> CA -> stage-II G), built from
the architecture a checkpoint records, with its noise as explicit inputs (deterministic, ONNX-exportable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganfactory.engine.checkpoint import require_operator
from ganfactory.errors import CheckpointError
from ganfactory.operators.stackgan.architecture import StackGANArchitecture
from ganfactory.operators.stackgan.networks import Stage1Generator, Stage2Generator


@dataclass(frozen=True)
class SamplingInputs:
    """What generation needs to know about a pipeline beside its weights: the noise sizes it takes, the stage its
    images come from (recorded with each image) and the sentence encoder its captions must be embedded with
    ("" when unknown)."""

    stage: str
    z_dim: int
    condition_dim: int
    encoder: str

    @classmethod
    def of(cls, arch: StackGANArchitecture) -> SamplingInputs:
        return cls(stage=arch.stage, z_dim=arch.z_dim, condition_dim=arch.condition_dim, encoder=arch.encoder)

    @classmethod
    def of_export(cls, metadata: dict[str, Any]) -> SamplingInputs:
        """From an exported .onnx's metadata (export_stackgan writes these keys)."""
        return cls(stage=str(metadata["stage"]), z_dim=int(metadata["z_dim"]),
                   condition_dim=int(metadata["condition_dim"]), encoder=str(metadata.get("encoder", "")))


class TextToImage(nn.Module):
    """(embedding [B, E], z [B, Z], eps1 [B, C], eps2 [B, C]) -> image [B, 3, R, R] in [-1, 1]; R is the stage-II
    size, or the stage-I size when `stage2` is None (eps2 is then unused). Eval mode: BN uses running stats."""

    def __init__(self, stage1: Stage1Generator, stage2: Stage2Generator | None) -> None:
        super().__init__()
        self.stage1, self.stage2 = stage1, stage2

    def forward(self, embedding: torch.Tensor, z: torch.Tensor, eps1: torch.Tensor,
                eps2: torch.Tensor) -> torch.Tensor:
        image, _, _ = self.stage1(embedding, z, eps1)
        if self.stage2 is None:
            return image
        return self.stage2(image, embedding, eps2)[0]


def pipeline_from_checkpoint(state: dict[str, Any],
                             path: Path) -> tuple[TextToImage, StackGANArchitecture, dict[str, Any]]:
    """(pipeline in eval mode, architecture, operator state) of a whole StackGAN checkpoint dict (either stage).
    Raises CheckpointError for a checkpoint of another operator or one that records no stage."""
    operator_state = require_operator(state, "stackgan", path)
    arch = StackGANArchitecture.from_checkpoint(state)
    if arch is None:
        raise CheckpointError(f"{path} records no StackGAN architecture; pass a checkpoint of a 'ganfactory "
                              "stackgan' run.")
    stage1 = arch.stage1_generator()
    stage1.load_state_dict(operator_state["G1"] if arch.stage == "stage2" else operator_state["G"])
    stage2 = None
    if arch.stage == "stage2":
        stage2 = arch.stage2_generator()
        stage2.load_state_dict(operator_state["G"])
    return TextToImage(stage1, stage2).eval().requires_grad_(False), arch, operator_state


def noise(seeds: list[int], *, z_dim: int, condition_dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z, eps1, eps2) for these seeds: each image's noise depends on its seed only."""
    parts = []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        parts.append((torch.randn(z_dim, generator=generator), torch.randn(condition_dim, generator=generator),
                      torch.randn(condition_dim, generator=generator)))
    return tuple(torch.stack(p) for p in zip(*parts))  # type: ignore[return-value]
