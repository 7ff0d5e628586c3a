"""The networks a projection needs from a StyleGAN run: G_ema and, for the discriminator perceptual loss, D.

One checkpoint load serves both (stylegan.models rebuilds each from the recorded architecture).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganfactory.engine.checkpoint import file_sha256, load_checkpoint, require_operator, resolve_checkpoint_path
from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.models import discriminator_from_state, generator_from_state, recorded_architecture
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
    D = discriminator_from_state(operator_state, device=device, architecture=architecture) \
        if with_discriminator else None
    return ProjectionNetworks(G=G, D=D, class_names=list(operator_state.get("class_names", [])),
                              checkpoint_sha256=file_sha256(path), checkpoint_path=path)

