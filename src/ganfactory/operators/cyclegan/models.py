"""The SOURCE->TARGET generator of a checkpoint, rebuilt from the architecture the checkpoint records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganfactory.engine.checkpoint import require_operator
from ganfactory.operators.cyclegan.architecture import CycleGANArchitecture
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.networks import ResnetGenerator


def generator_architecture(config: CycleGANConfig) -> CycleGANArchitecture:
    """The networks these options train (what the checkpoint records)."""
    return CycleGANArchitecture.from_config(config)


def recorded_architecture(state: dict[str, Any], operator_state: dict[str, Any]) -> CycleGANArchitecture:
    """The architecture a checkpoint was trained with. A format-1 file records none: its saved config rebuilds it,
    read as files of that time were written (no input skip unless the config says so; the tanh skip)."""
    recorded = CycleGANArchitecture.from_checkpoint(state)
    if recorded is not None:
        return recorded
    return CycleGANArchitecture.from_config(
        CycleGANConfig(**{"input_skip": False, "skip_mode": "tanh", **operator_state["config"]}))


def load_generator(state: dict[str, Any], path: Path) -> tuple[ResnetGenerator, CycleGANArchitecture, dict[str, Any]]:
    """(G_AB with its weights, architecture, operator state) of a whole CycleGAN checkpoint dict.
    Raises CheckpointError for a checkpoint of another operator."""
    operator_state = require_operator(state, "cyclegan", path)
    arch = recorded_architecture(state, operator_state)
    G = arch.generator()
    G.load_state_dict(operator_state["G_AB"])
    return G, arch, operator_state
