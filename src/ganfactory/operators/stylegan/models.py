"""Building the networks from a preset, and sampling from a trained generator."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.presets import StyleGANPreset, build_generator, resolve_preset
from ganfactory.operators.stylegan.sampling import class_batch, image_seed, z_batch

GRID_SIZE = 16  # samples in a progress grid


def preset_for(config: StyleGANConfig) -> StyleGANPreset:
    """The run's preset with the config's explicit overrides (batch, gamma, capacity, mapping depth)."""
    preset = resolve_preset(config.cfg, config.resolution, config.batch_size, config.gamma)
    overrides = {"channel_base": config.cbase, "channel_max": config.cmax, "mapping_layers": config.map_layers}
    return dataclasses.replace(preset, **{k: v for k, v in overrides.items() if v is not None})


def generator_from_state(state: dict[str, Any], *, device: torch.device) -> Generator:
    """The EMA generator of a checkpoint, ready for sampling."""
    preset = preset_for(StyleGANConfig(**state["config"]))
    G = build_generator(preset, img_channels=int(state["img_channels"]), num_classes=int(state["num_classes"]))
    G.load_state_dict(state["G_ema"])
    return G.to(device).eval().requires_grad_(False)


@torch.no_grad()
def synthesize(G: Generator, *, seeds: list[int], class_index: int | None, truncation: float,
               device: torch.device) -> torch.Tensor:
    """Images for these seeds (and class), with constant noise so that a seed always gives the same image."""
    z = z_batch(seeds, G.z_dim, device)
    c = class_batch(class_index, len(seeds), device)
    return G(z, c, truncation_psi=truncation, noise_mode="const").float()


def generate_grid(G: Generator, *, num_classes: int, seed: int, device: torch.device) -> torch.Tensor:
    """A fixed grid for progress samples: the same seeds every tick, cycling through the classes."""
    seeds = [image_seed(seed, i) for i in range(GRID_SIZE)]
    if not num_classes:
        return synthesize(G, seeds=seeds, class_index=None, truncation=1.0, device=device)
    parts = [synthesize(G, seeds=seeds[i::num_classes], class_index=i, truncation=1.0, device=device)
             for i in range(min(num_classes, GRID_SIZE))]
    return torch.cat(parts)
