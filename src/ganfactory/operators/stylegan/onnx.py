"""StyleGAN generator <-> ONNX: inputs z [B, z_dim], class [B] (conditional models) and psi [1]; dynamic batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.engine.precision import EXPORTED
from ganfactory.errors import CheckpointError
from ganfactory.operators.stylegan.architecture import StyleGANArchitecture
from ganfactory.operators.stylegan.models import generator_from_state
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.sampling import z_batch
from ganfactory.output.onnx import export_module, open_session


def _truncated_image(G: Generator, z: torch.Tensor, c: torch.Tensor | None, psi: torch.Tensor) -> torch.Tensor:
    """Truncation applied here, with psi a tensor, so that one exported file serves every psi."""
    ws = G.mapping(z, c, truncation_psi=1.0)
    w_avg = G.mapping.w_avg
    return G.synthesis(w_avg + (ws - w_avg) * psi, noise_mode="const")


class _Unconditional(torch.nn.Module):
    def __init__(self, G: Generator) -> None:
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        return _truncated_image(self.G, z, None, psi)


class _Conditional(_Unconditional):
    def forward(self, z: torch.Tensor, class_index: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return _truncated_image(self.G, z, class_index, psi)


def export_stylegan(state: dict[str, Any], path: Path, *, architecture: StyleGANArchitecture | None = None) -> Path:
    """Export a checkpoint's EMA generator (constant noise, so a seed always gives the same image);
    `architecture`: the checkpoint's recorded one (None: rebuilt from its config)."""
    G = generator_from_state(state, device=torch.device("cpu"), architecture=architecture).float()
    conditional = int(state["num_classes"]) > 0
    z = torch.randn(2, G.z_dim)
    axes: dict[str, tuple[int, ...]]
    if conditional:
        module: torch.nn.Module = _Conditional(G)
        args: tuple[torch.Tensor, ...] = (z, torch.tensor([0, 1]) % int(state["num_classes"]), torch.ones(1))
        names, axes = ["z", "class", "psi"], {"z": (0,), "class": (0,)}
    else:
        module, args, names, axes = _Unconditional(G), (z, torch.ones(1)), ["z", "psi"], {"z": (0,)}
    metadata = {"operator": "stylegan", "z_dim": G.z_dim, "conditional": conditional,
                "class_names": list(state["class_names"]), "resolution": int(G.resolution)}
    return export_module(module, args, path, input_names=names, output_names=["image"], dynamic_axes=axes,
                         metadata=metadata)


class OnnxStyleGANSampler:
    """The ImageSampler interface of the generation step, behind onnxruntime."""

    precision = EXPORTED

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
