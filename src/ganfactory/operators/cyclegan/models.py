"""The SOURCE->TARGET generator of a checkpoint, rebuilt from the architecture the checkpoint records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganfactory.engine.checkpoint import checkpoint_architecture, require_operator
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.networks import ResnetGenerator, default_n_blocks


def generator_architecture(config: CycleGANConfig) -> dict[str, Any]:
    """The generator's resolved constructor arguments plus the trained image size (the file's own record).
    skip_mode is recorded only with the input skip: without it the mode changes nothing. mode (cut, fastcut) only
    for the one-sided modes, whose checkpoints hold other networks; files without it are CycleGAN's."""
    arch: dict[str, Any] = {"channels": config.image_channel, "base_channels": config.base_channels,
            "n_blocks": config.n_blocks or default_n_blocks(config.image_height, config.image_width),
            "height": config.image_height, "width": config.image_width, "input_skip": config.input_skip}
    arch = {**arch, "skip_mode": config.skip_mode} if config.input_skip else arch
    return arch if config.mode == "cyclegan" else {**arch, "mode": config.mode}


def recorded_architecture(state: dict[str, Any], operator_state: dict[str, Any]) -> dict[str, Any]:
    """The architecture a checkpoint was trained with, completed for files older than its fields.

    Files written before the input skip existed record none and were trained without it; files written
    before the lerp skip record no skip_mode and used the tanh skip.
    """
    arch = checkpoint_architecture(state) or generator_architecture(
        CycleGANConfig(**{"input_skip": False, "skip_mode": "tanh", **operator_state["config"]}))
    arch = {"input_skip": False, **arch}
    return {"skip_mode": "tanh", **arch} if arch["input_skip"] else arch


def load_generator(state: dict[str, Any], path: Path) -> tuple[ResnetGenerator, dict[str, Any], dict[str, Any]]:
    """(G_AB with its weights, architecture, operator state) of a whole CycleGAN checkpoint dict.
    Format-1 files record no architecture: it is rebuilt from their saved config."""
    operator_state = require_operator(state, "cyclegan", path)
    arch = recorded_architecture(state, operator_state)
    G = ResnetGenerator(arch["channels"], arch["channels"], base_channels=arch["base_channels"],
                        n_blocks=arch["n_blocks"], input_skip=arch["input_skip"],
                        skip_mode=arch.get("skip_mode", "lerp"))
    G.load_state_dict(operator_state["G_AB"])
    return G, arch, operator_state
