"""StyleGAN generator <-> ONNX: inputs z [B, z_dim], class [B] (conditional models) and psi [1]; dynamic batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.errors import CheckpointError
from ganfactory.export.onnx_io import export_module, open_session
from ganfactory.operators.stylegan.models import generator_from_state
from ganfactory.operators.stylegan.sampling import z_batch


class _ExportedGenerator(torch.nn.Module):
    """G with constant noise and truncation as an input, so one file serves every psi."""

    def __init__(self, G: torch.nn.Module, conditional: bool) -> None:
        super().__init__()
        self.G, self.conditional = G, conditional

    def forward(self, z: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        c, psi = (rest[0], rest[1]) if self.conditional else (None, rest[0])
        ws = self.G.mapping(z, c, truncation_psi=1.0)
        w_avg = self.G.mapping.w_avg
        ws = w_avg + (ws - w_avg) * psi  # truncation toward the mean latent
        return self.G.synthesis(ws, noise_mode="const")


def export_stylegan(state: dict[str, Any], path: Path) -> Path:
    """Export a checkpoint's EMA generator."""
    G = generator_from_state(state, device=torch.device("cpu")).float()
    conditional = int(state["num_classes"]) > 0
    z = torch.randn(2, G.z_dim)
    args: tuple[torch.Tensor, ...] = (z, torch.zeros(2, dtype=torch.long), torch.ones(1)) if conditional \
        else (z, torch.ones(1))
    names = ["z", "class", "psi"] if conditional else ["z", "psi"]
    axes = {"z": {0: "batch"}, "image": {0: "batch"}, **({"class": {0: "batch"}} if conditional else {})}
    metadata = {"operator": "stylegan", "z_dim": G.z_dim, "conditional": conditional,
                "class_names": list(state["class_names"]), "resolution": int(state["config"]["resolution"])}
    return export_module(_ExportedGenerator(G, conditional), args, path, input_names=names, output_names=["image"],
                         dynamic_axes=axes, metadata=metadata)


class OnnxStyleGANSampler:
    """The ImageSampler interface of the generation step, behind onnxruntime."""

    def __init__(self, path: Path) -> None:
        self.session, meta = open_session(path)
        if meta.get("operator") != "stylegan":
            raise CheckpointError(f"{path} is not an exported StyleGAN generator; export one with 'ganfactory export'.")
        self.z_dim, self.conditional = int(meta["z_dim"]), bool(meta["conditional"])
        self.class_names: list[str] = list(meta["class_names"])

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor:
        feeds = {"z": z_batch(seeds, self.z_dim, torch.device("cpu")).numpy(),
                 "psi": np.array([truncation], dtype=np.float32)}
        if self.conditional:
            feeds["class"] = np.full(len(seeds), class_index or 0, dtype=np.int64)
        return torch.from_numpy(self.session.run(["image"], feeds)[0])
