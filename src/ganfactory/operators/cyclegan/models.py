"""The SOURCE->TARGET generator of a checkpoint, rebuilt from the architecture the checkpoint records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganfactory.engine.checkpoint import checkpoint_architecture, require_operator
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.networks import ResnetGenerator, default_n_blocks


def generator_architecture(config: CycleGANConfig) -> dict[str, Any]:
    """The generator's resolved constructor arguments plus the trained image size (the file's own record)."""
    return {"channels": config.image_channel, "base_channels": config.base_channels,
            "n_blocks": config.n_blocks or default_n_blocks(config.image_height, config.image_width),
            "height": config.image_height, "width": config.image_width, "input_skip": config.input_skip}


def load_generator(state: dict[str, Any], path: Path) -> tuple[ResnetGenerator, dict[str, Any], dict[str, Any]]:
    """(G_AB with its weights, architecture, operator state) of a whole CycleGAN checkpoint dict.
    Format-1 files record no architecture: it is rebuilt from their saved config."""
    operator_state = require_operator(state, "cyclegan", path)
    # Files written before the input skip existed record none and were trained without it.
    arch = checkpoint_architecture(state) or generator_architecture(
        CycleGANConfig(**{"input_skip": False, **operator_state["config"]}))
    G = ResnetGenerator(arch["channels"], arch["channels"], base_channels=arch["base_channels"],
                        n_blocks=arch["n_blocks"], input_skip=bool(arch.get("input_skip", False)))
    G.load_state_dict(operator_state["G_AB"])
    return G, arch, operator_state
