"""Building the networks from a preset, and sampling from a trained generator."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ganfactory.operators.stylegan.architecture import StyleGANArchitecture
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.presets import StyleGANPreset, cfg_for_device, resolve_preset
from ganfactory.operators.stylegan.sampling import class_batch, image_seed, z_batch

GRID_IMAGES = 64  # about this many samples in a progress grid
GRID_ROWS = 16  # classes shown in a progress grid


def preset_for(config: StyleGANConfig, *, device_type: str | None = None) -> StyleGANPreset:
    """The run's preset with the config's explicit overrides (batch, gamma, capacity, mapping depth).

    `device_type` ("cpu", "cuda") resolves `--cfg auto` for the device that trains (see cfg_for_device); None
    takes the name as written (the paper's auto), as checkpoints that predate the device rule were trained.
    """
    cfg = config.cfg if device_type is None else cfg_for_device(config.cfg, device_type)
    preset = resolve_preset(cfg, config.resolution, config.batch_size, config.gamma)
    # A run shorter than the preset's transition still ends fully conditional: the defaults shrink to the
    # first 10% and the first half of --total-kimg (explicit --t-start-kimg / --t-end-kimg are kept).
    preset = dataclasses.replace(preset, t_start_kimg=min(preset.t_start_kimg, 0.1 * config.total_kimg),
                                 t_end_kimg=min(preset.t_end_kimg, 0.5 * config.total_kimg))
    overrides: dict[str, Any] = {"channel_base": config.cbase, "channel_max": config.cmax,
                                 "mapping_layers": config.map_layers, "conditioning": config.conditioning,
                                 "t_start_kimg": config.t_start_kimg, "t_end_kimg": config.t_end_kimg,
                                 "mode_seeking_weight": config.mode_seeking, "diffaugment": config.diffaugment,
                                 "lecam_weight": config.lecam, "class_mismatch_weight": config.class_mismatch,
                                 "dual_projection_weight": config.dual_projection}
    preset = dataclasses.replace(preset, **{k: v for k, v in overrides.items() if v is not None})
    return dataclasses.replace(preset, t_end_kimg=max(preset.t_end_kimg, preset.t_start_kimg))


def generator_architecture(preset: StyleGANPreset, *, img_channels: int, num_classes: int) -> StyleGANArchitecture:
    """The Generator's constructor arguments, resolved: what a checkpoint records to rebuild G by itself."""
    return StyleGANArchitecture.from_preset(preset, img_channels=img_channels, num_classes=num_classes)


def _format1_architecture(state: dict[str, Any]) -> StyleGANArchitecture:
    """A format-1 operator state records no architecture: its saved config and the preset table rebuild it."""
    preset = preset_for(StyleGANConfig(**state["config"]))
    return generator_architecture(preset, img_channels=int(state["img_channels"]),
                                  num_classes=int(state["num_classes"]))


def recorded_architecture(checkpoint: dict[str, Any]) -> StyleGANArchitecture:
    """The architecture a whole checkpoint dict was trained with: its record (format 2), else rebuilt from its
    saved config and the preset table (format 1)."""
    recorded = StyleGANArchitecture.from_checkpoint(checkpoint)
    return recorded if recorded is not None else _format1_architecture(checkpoint["operator"])


def generator_from_state(state: dict[str, Any], *, device: torch.device,
                         architecture: StyleGANArchitecture | None = None) -> Generator:
    """The EMA generator of a checkpoint's operator state, ready for sampling. `architecture` (recorded_architecture
    of the whole checkpoint) rebuilds it as trained; None rebuilds it from the saved config and preset table."""
    G = (architecture or _format1_architecture(state)).generator()
    G.load_state_dict(state["G_ema"])
    return G.to(device).eval().requires_grad_(False)


@torch.no_grad()
def discriminator_from_state(state: dict[str, Any], *, device: torch.device,
                             architecture: StyleGANArchitecture) -> Discriminator:
    """The discriminator of a checkpoint's operator state, frozen (its features serve as a perceptual distance).
    `architecture` is the generator's record: the two share resolution, channels, capacity, classes and
    conditioning. The block type (residual or 'orig') is read from the weights: only residual blocks have `skip`."""
    weights = state["D"]
    D = architecture.discriminator(residual=any(".skip." in key for key in weights))
    D.load_state_dict(weights)
    return D.to(device).eval().requires_grad_(False)


def synthesize(G: Generator, *, seeds: list[int], class_index: int | None, truncation: float,
               device: torch.device) -> torch.Tensor:
    """Images for these seeds (and class), with constant noise so that a seed always gives the same image."""
    z = z_batch(seeds, G.z_dim, device)
    c = class_batch(class_index, len(seeds), device)
    return G(z, c, truncation_psi=truncation, noise_mode="const").float()


def grid_columns(num_classes: int) -> int:
    """Columns of the progress grid: 8 for an unconditional model, else one row per class with 8 seeds
    (fewer, down to 4, when there are many classes) so that a class collapsed onto one image shows as a
    row of copies."""
    return 8 if num_classes == 0 else max(4, min(8, GRID_IMAGES // num_classes))


def generate_grid(G: Generator, *, num_classes: int, seed: int, device: torch.device) -> torch.Tensor:
    """A fixed grid for progress samples, [rows * grid_columns, C, R, R] in [-1, 1]: the same seeds every tick.

    Unconditional: 8 x 8 seeds. Conditional: one row per class (the first GRID_ROWS classes), the same seeds
    in every row, so a column compares the classes at one z and a row shows the variety within a class.
    """
    columns = grid_columns(num_classes)
    if not num_classes:
        seeds = [image_seed(seed, i) for i in range(columns * columns)]
        return synthesize(G, seeds=seeds, class_index=None, truncation=1.0, device=device)
    seeds = [image_seed(seed, i) for i in range(columns)]
    rows = [synthesize(G, seeds=seeds, class_index=k, truncation=1.0, device=device)
            for k in range(min(num_classes, GRID_ROWS))]
    return torch.cat(rows)
