"""CycleGAN SOURCE->TARGET generator <-> ONNX: input image [B, C, H, W] in [-1, 1], dynamic batch, height, width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganfactory.errors import CheckpointError
from ganfactory.export.onnx_io import export_module, open_session
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.training import build_generator


def export_cyclegan(state: dict[str, Any], path: Path) -> Path:
    config = CycleGANConfig(**state["config"])
    G = build_generator(config)
    G.load_state_dict(state["G_AB"])
    example = torch.zeros(1, config.image_channel, config.image_height, config.image_width)
    metadata = {"operator": "cyclegan", "channels": config.image_channel,
                "height": config.image_height, "width": config.image_width,
                "source_name": state["domain_names"][0], "target_name": state["domain_names"][1]}
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
