"""Latent morphing: a looping GIF that walks in W space between the latents of a list of seeds."""

from __future__ import annotations

from pathlib import Path

import torch

from ganfactory.engine.checkpoint import (
    load_checkpoint,
    require_operator,
    resolve_checkpoint_path,
)
from ganfactory.errors import ConfigError
from ganfactory.operators.stylegan.models import generator_from_state, recorded_architecture
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.sampling import class_batch, z_batch
from ganfactory.operators.stylegan.spec import is_legacy_stylegan
from ganfactory.output.images import save_gif, to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.overlap import recorded_inputs, refuse_overlap
from ganfactory.output.writable import require_writable_output


def class_index(class_names: list[str], conditional: bool, class_name: str | None) -> int | None:
    """The index of `class_name` (None: the first class); None for an unconditional model. Raises ConfigError."""
    if not conditional:
        return None
    if class_name is None:
        return 0
    if class_name not in class_names:
        raise ConfigError(f"Unknown class '{class_name}'; this model knows {', '.join(class_names)}.")
    return class_names.index(class_name)


@torch.no_grad()
def morph_frames(G: Generator, *, seeds: list[int], frames: int, class_index: int | None, truncation: float,
                 batch_size: int = 16) -> list:
    """Frames that lerp W between consecutive seeds and back to the first (the loop closes)."""
    device = next(G.parameters()).device
    z = z_batch(seeds, G.z_dim, device)
    ws = G.mapping(z, class_batch(class_index, len(seeds), device), truncation_psi=truncation)
    steps = torch.arange(frames, device=device, dtype=torch.float32) / frames
    path = [torch.lerp(ws[i], ws[(i + 1) % len(seeds)], t) for i in range(len(seeds)) for t in steps]
    images = [G.synthesis(torch.stack(path[s:s + batch_size]), noise_mode="const")
              for s in range(0, len(path), batch_size)]
    return [frame.permute(1, 2, 0).numpy() for frame in to_uint8(torch.cat(images))]


def interpolate_run(run_or_model: Path, *, seeds: list[int], frames: int, class_name: str | None = None,
                    truncation: float = 1.0, output: Path | None = None) -> Path:
    if len(seeds) < 2:
        raise ConfigError("--seeds needs at least two seeds to morph between, e.g. --seeds 1,5,9.")
    path = resolve_checkpoint_path(Path(run_or_model))
    if output is None:
        root = Path(run_or_model) if Path(run_or_model).is_dir() else path.parent.parent
        output = RunFolder(root).samples_dir / f"interpolation_{'-'.join(map(str, seeds))}.gif"
    refuse_overlap(inputs=[path, *recorded_inputs(path)], outputs=[output], command="interpolate")
    require_writable_output(Path(output).parent)
    checkpoint = load_checkpoint(path)
    state = require_operator(checkpoint, "stylegan", path, legacy=is_legacy_stylegan)
    G = generator_from_state(state, device=torch.device("cpu"), architecture=recorded_architecture(checkpoint))
    index = class_index(list(state["class_names"]), int(state["num_classes"]) > 0, class_name)
    images = morph_frames(G, seeds=seeds, frames=frames, class_index=index, truncation=truncation)
    return save_gif(images, output, duration_ms=40)
