"""The networks a projection needs from a StyleGAN run: G_ema and, for the discriminator perceptual loss, D.

One checkpoint load serves both. D is rebuilt from the generator's recorded architecture (the two share
resolution, channels, capacity, class count and conditioning); its block type (residual or 'orig') is read
from the saved weights, since only residual blocks have a `skip` convolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganfactory.engine.checkpoint import file_sha256, load_checkpoint, require_operator, resolve_checkpoint_path
from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.models import generator_from_state, recorded_architecture
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.spec import is_legacy_stylegan


@dataclass
class ProjectionNetworks:
    """G_ema (frozen), D (frozen; None unless asked for), the run's class names and checkpoint sha256."""

    G: Generator
    D: Discriminator | None
    class_names: list[str]
    checkpoint_sha256: str
    checkpoint_path: Path


def load_projection_networks(run: Path, *, device: torch.device, with_discriminator: bool) -> ProjectionNetworks:
    """G_ema (and D) of a StyleGAN run folder or checkpoint. Raises CheckpointError for a missing file or a
    checkpoint of another operator."""
    path = resolve_checkpoint_path(Path(run))
    state = load_checkpoint(path)
    operator_state = require_operator(state, "stylegan", path, legacy=is_legacy_stylegan)
    architecture = recorded_architecture(state)
    G = generator_from_state(operator_state, device=device, architecture=architecture)
    D = _discriminator(operator_state["D"], architecture, device=device) if with_discriminator else None
    return ProjectionNetworks(G=G, D=D, class_names=list(operator_state.get("class_names", [])),
                              checkpoint_sha256=file_sha256(path), checkpoint_path=path)


def _discriminator(weights: dict[str, torch.Tensor], architecture: dict, *, device: torch.device) -> Discriminator:
    residual = any(".skip." in key for key in weights)
    D = Discriminator(num_classes=int(architecture["num_classes"]), resolution=int(architecture["resolution"]),
                      img_channels=int(architecture["img_channels"]), channel_base=int(architecture["channel_base"]),
                      channel_max=int(architecture["channel_max"]), mapping_layers=int(architecture["mapping_layers"]),
                      num_fp16_res=int(architecture["num_fp16_res"]), conv_clamp=architecture["conv_clamp"],
                      architecture="resnet" if residual else "orig",
                      conditioning=architecture.get("conditioning", "concat"))
    D.load_state_dict(weights)
    return D.to(device).eval().requires_grad_(False)
