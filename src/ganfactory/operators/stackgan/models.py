"""The text-to-image path of a trained StackGAN: embedding -> CA -> stage-I G (-> CA -> stage-II G), built from
the architecture a checkpoint records, with its noise as explicit inputs (deterministic, ONNX-exportable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganfactory.engine.checkpoint import checkpoint_architecture, require_operator
from ganfactory.errors import CheckpointError
from ganfactory.operators.stackgan.config import StackGANConfig
from ganfactory.operators.stackgan.networks import Stage1Generator, Stage2Generator

STAGES = ("stage1", "stage2")


def architecture(config: StackGANConfig, *, stage: str, embedding_dim: int, encoder: str) -> dict[str, Any]:
    """What rebuilds the generators of a checkpoint without the config."""
    return {"stage": stage, "embedding_dim": embedding_dim, "condition_dim": config.condition_dim,
            "z_dim": config.z_dim, "gf": config.gf, "stage1_resolution": config.stage1_resolution,
            "resolution": config.resolution, "res_blocks": config.res_blocks, "encoder": encoder,
            "standardise_embeddings": config.standardise_embeddings}


def build_stage1(arch: dict[str, Any]) -> Stage1Generator:
    return Stage1Generator(embedding_dim=arch["embedding_dim"], condition_dim=arch["condition_dim"],
                           z_dim=arch["z_dim"], gf=arch["gf"], resolution=arch["stage1_resolution"],
                           standardise=arch.get("standardise_embeddings", False))  # older checkpoints: raw


def build_stage2(arch: dict[str, Any]) -> Stage2Generator:
    return Stage2Generator(embedding_dim=arch["embedding_dim"], condition_dim=arch["condition_dim"], gf=arch["gf"],
                           stage1_resolution=arch["stage1_resolution"], resolution=arch["resolution"],
                           res_blocks=arch["res_blocks"], standardise=arch.get("standardise_embeddings", False))


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


def pipeline_from_checkpoint(state: dict[str, Any], path: Path) -> tuple[TextToImage, dict[str, Any], dict[str, Any]]:
    """(pipeline in eval mode, architecture, operator state) of a whole StackGAN checkpoint dict (either stage)."""
    operator_state = require_operator(state, "stackgan", path)
    arch = checkpoint_architecture(state)
    if arch is None or arch.get("stage") not in STAGES:
        raise CheckpointError(f"{path} records no StackGAN architecture; pass a checkpoint of a 'ganfactory "
                              "stackgan' run.")
    stage1 = build_stage1(arch)
    stage1.load_state_dict(operator_state["G1"] if arch["stage"] == "stage2" else operator_state["G"])
    stage2 = None
    if arch["stage"] == "stage2":
        stage2 = build_stage2(arch)
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
