"""The text-embedding-to-image path (CA + stage I + stage II) as ONNX. Inputs: embedding [B, E], z [B, Z],
eps1 [B, C], eps2 [B, C] (the two CA noises; eps2 unused by a stage-I model), dynamic batch; output images
[B, 3, R, R] in [-1, 1]. The metadata names the operator, stage, sizes and sentence encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.errors import CheckpointError
from ganfactory.operators.stackgan.models import pipeline_from_checkpoint
from ganfactory.output.onnx import export_module, open_session

INPUTS = ["embedding", "z", "eps1", "eps2"]


def export_stackgan(state: dict[str, Any], path: Path) -> Path:
    """Export a StackGAN checkpoint of either stage (a stage-II one includes its frozen stage I)."""
    pipeline, arch, _ = pipeline_from_checkpoint(state, path)
    batch = 2
    args = (torch.randn(batch, arch.embedding_dim), torch.randn(batch, arch.z_dim),
            torch.randn(batch, arch.condition_dim), torch.randn(batch, arch.condition_dim))
    record = arch.to_dict()
    metadata = {"operator": "stackgan", **{k: record[k] for k in ("stage", "embedding_dim", "z_dim", "condition_dim",
                                                                  "stage1_resolution", "resolution", "encoder")}}
    return export_module(pipeline.float(), args, Path(path), input_names=INPUTS, output_names=["image"],
                         dynamic_axes={name: (0,) for name in INPUTS}, metadata=metadata)


class OnnxTextToImage:
    """The exported path behind onnxruntime, called like models.TextToImage (torch tensors in and out)."""

    def __init__(self, path: Path) -> None:
        self.session, self.meta = open_session(Path(path))
        if self.meta.get("operator") != "stackgan":
            raise CheckpointError(f"{path} is not a StackGAN export; pass one written by 'ganfactory export'.")

    @property
    def arch(self) -> dict[str, Any]:
        return dict(self.meta)

    def to(self, device: torch.device) -> OnnxTextToImage:
        return self

    def eval(self) -> OnnxTextToImage:
        return self

    def __call__(self, embedding: torch.Tensor, z: torch.Tensor, eps1: torch.Tensor,
                 eps2: torch.Tensor) -> torch.Tensor:
        feeds = {name: t.detach().cpu().numpy().astype(np.float32)
                 for name, t in zip(INPUTS, (embedding, z, eps1, eps2))}
        used = {i.name for i in self.session.get_inputs()}  # an unused eps2 may be pruned from a stage-I export
        return torch.from_numpy(self.session.run(None, {k: v for k, v in feeds.items() if k in used})[0])
