"""Generate on demand from a run's latest StyleGAN checkpoint: one image for a seed, truncation psi and class, or
a latent walk (looping GIF) between seeds, as the StyleGAN3 visualizer lets a user probe a model.

Generators are loaded once per checkpoint file version and kept for the console's life (a few MB each at the
sizes this tool trains); one generation runs at a time, so a burst of requests cannot run the CPU out of memory.
torch is imported only when a user first generates.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganfactory.errors import InputError

MAX_SEED = 2**32 - 1
MAX_WALK_SEEDS = 8
MAX_WALK_FRAMES = 48  # frames between two seeds
TRUNCATION_RANGE = (0.0, 2.0)


@dataclass(frozen=True)
class LoadedModel:
    generator: Any  # ganfactory.operators.stylegan.networks.Generator, in eval mode on the CPU
    class_names: list[str]  # empty for an unconditional model
    checkpoint: Path


@dataclass(frozen=True)
class Request:
    """What to generate; `class_name` None means the model's first class (ignored when unconditional)."""

    seeds: list[int]
    truncation: float = 1.0
    class_name: str | None = None
    frames: int = 16


def parse_request(params: dict[str, str], *, walk: bool) -> Request:
    """The query string of a generate (one seed) or walk (2..8 seeds) request. Raises InputError naming the field."""
    text = params.get("seeds" if walk else "seed", "").strip() or ("0,1" if walk else "0")
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
        truncation = float(params.get("truncation", "") or 1.0)
        frames = int(params.get("frames", "") or 16)
    except ValueError:
        raise InputError("Seeds, frames and truncation must be numbers (seeds as whole numbers, e.g. 3 or 1,5,9).") \
            from None
    if not all(0 <= seed <= MAX_SEED for seed in seeds):
        raise InputError(f"A seed must be a whole number from 0 to {MAX_SEED}.")
    if walk and not 2 <= len(seeds) <= MAX_WALK_SEEDS:
        raise InputError(f"A latent walk needs 2 to {MAX_WALK_SEEDS} seeds, separated by commas (e.g. 1,5,9).")
    if not walk and len(seeds) != 1:
        raise InputError("Give one seed (a whole number); use the latent walk for several.")
    if not TRUNCATION_RANGE[0] <= truncation <= TRUNCATION_RANGE[1]:
        raise InputError(f"Truncation psi must be between {TRUNCATION_RANGE[0]} and {TRUNCATION_RANGE[1]} "
                         "(1 = no truncation).")
    if not 2 <= frames <= MAX_WALK_FRAMES:
        raise InputError(f"Frames between two seeds must be from 2 to {MAX_WALK_FRAMES}.")
    return Request(seeds=seeds, truncation=truncation, class_name=params.get("class") or None, frames=frames)


class OnDemandGenerators:
    """The console's generators, one per run folder, reloaded when the latest checkpoint changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one load or generation at a time
        self._models: dict[Path, tuple[tuple[Path, int], LoadedModel]] = {}

    def model(self, run_root: Path) -> LoadedModel:
        """The run's latest StyleGAN generator (G_ema). Raises InputError (CheckpointError) in one sentence when
        the run has no checkpoint or is not a StyleGAN run. Blocking: call from the thread pool."""
        from ganfactory.engine.checkpoint import resolve_checkpoint_path

        path = resolve_checkpoint_path(run_root)
        stamp = (path, path.stat().st_mtime_ns)
        with self._lock:
            cached = self._models.get(run_root)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            model = _load(path)
            self._models[run_root] = (stamp, model)
            return model

    def image_png(self, run_root: Path, request: Request) -> bytes:
        """One image as PNG bytes. Blocking."""
        import torch

        from ganfactory.operators.stylegan.models import synthesize
        from ganfactory.output.images import to_uint8

        model = self.model(run_root)
        index = class_index_of(model, request.class_name)
        with self._lock, torch.no_grad():
            image = synthesize(model.generator, seeds=request.seeds, class_index=index,
                               truncation=request.truncation, device=torch.device("cpu"))
        return _png(to_uint8(image)[0].permute(1, 2, 0).numpy())

    def walk_gif(self, run_root: Path, request: Request) -> bytes:
        """A looping GIF that walks in W between the seeds (`interpolate`'s frames). Blocking."""
        from PIL import Image

        from ganfactory.operators.stylegan.interpolate import morph_frames

        model = self.model(run_root)
        index = class_index_of(model, request.class_name)
        with self._lock:
            frames = morph_frames(model.generator, seeds=request.seeds, frames=request.frames, class_index=index,
                                  truncation=request.truncation)
        pils = [Image.fromarray(f[:, :, 0] if f.shape[2] == 1 else f) for f in frames]
        buffer = io.BytesIO()
        pils[0].save(buffer, format="GIF", save_all=True, append_images=pils[1:], duration=60, loop=0)
        return buffer.getvalue()


def _load(path: Path) -> LoadedModel:
    import torch

    from ganfactory.engine.checkpoint import load_checkpoint, require_operator
    from ganfactory.operators.stylegan.models import generator_from_state, recorded_architecture
    from ganfactory.operators.stylegan.spec import is_legacy_stylegan

    checkpoint = load_checkpoint(path)
    state = require_operator(checkpoint, "stylegan", path, legacy=is_legacy_stylegan)
    generator = generator_from_state(state, device=torch.device("cpu"),
                                     architecture=recorded_architecture(checkpoint))
    names = list(state.get("class_names") or []) if int(state["num_classes"]) > 0 else []
    return LoadedModel(generator=generator, class_names=names, checkpoint=path)


def class_index_of(model: LoadedModel, class_name: str | None) -> int | None:
    """The model's index of `class_name` (None: its first class; None for an unconditional model).
    Raises ConfigError naming the classes it knows."""
    from ganfactory.operators.stylegan.interpolate import class_index

    return class_index(model.class_names, bool(model.class_names), class_name)


def _png(pixels_hwc: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels_hwc[:, :, 0] if pixels_hwc.shape[2] == 1 else pixels_hwc).save(buffer, format="PNG")
    return buffer.getvalue()
