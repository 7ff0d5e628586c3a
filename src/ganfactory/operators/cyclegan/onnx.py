"""CycleGAN SOURCE->TARGET generator <-> ONNX: input image [B, C, H, W] in [-1, 1], dynamic batch, height, width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganfactory.errors import CheckpointError
from ganfactory.operators.cyclegan.models import load_generator
from ganfactory.output.onnx import export_module, open_session


def export_cyclegan(state: dict[str, Any], path: Path) -> Path:
    """Export G_AB of a whole checkpoint dict (its recorded architecture, else its config)."""
    G, arch, operator_state = load_generator(state, path)
    example = torch.zeros(1, arch.channels, arch.height, arch.width)
    metadata = {"operator": "cyclegan", "mode": arch.mode, "channels": arch.channels,
                "height": arch.height, "width": arch.width,
                "source_name": operator_state["domain_names"][0], "target_name": operator_state["domain_names"][1]}
    return export_module(G, (example,), path, input_names=["image"], output_names=["translated"],
                         dynamic_axes={"image": (0, 2, 3)}, metadata=metadata)


class OnnxCycleGANTranslator:
    """The Translator interface of the translation step, behind onnxruntime."""

    def __init__(self, path: Path) -> None:
        self.session, meta = open_session(path)
        if meta.get("operator") != "cyclegan":
            raise CheckpointError(f"{path} is not an exported CycleGAN generator; export one with 'ganfactory export'.")
        self.channels = int(meta["channels"])
        self.size = (int(meta["height"]), int(meta["width"]))
        self.target_name = str(meta["target_name"])

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(["translated"], {"image": images.float().numpy()})[0])
