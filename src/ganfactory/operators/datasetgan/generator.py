"""The StyleGAN generator a DatasetGAN folder works with: copied once from a StyleGAN run into
OUT/annotation/generator.safetensors (so pruning or continuing that run never changes the annotated
samples), and latents made deterministically from seeds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file

from ganfactory.engine.checkpoint import (
    file_sha256,
    load_checkpoint,
    require_operator,
    resolve_checkpoint_path,
)
from ganfactory.errors import InputError
from ganfactory.operators.stylegan.architecture import StyleGANArchitecture
from ganfactory.operators.stylegan.models import generator_from_state, recorded_architecture
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.sampling import z_batch
from ganfactory.operators.stylegan.spec import is_legacy_stylegan
from ganfactory.output.atomic import atomic_write

GENERATE_SEED_OFFSET = 1_000_000  # generated pairs never reuse an annotated sample's seed


@dataclass
class SourceGenerator:
    """G_ema of a StyleGAN run with what identifies it."""

    G: Generator
    architecture: StyleGANArchitecture
    class_names: list[str]
    checkpoint_sha256: str

    @property
    def conditional(self) -> bool:
        return self.G.num_classes > 0


def load_stylegan_run(run: Path, *, device: torch.device) -> SourceGenerator:
    """G_ema rebuilt from a StyleGAN run folder or checkpoint (its recorded architecture).
    Raises CheckpointError for a missing file or a checkpoint of another operator."""
    path = resolve_checkpoint_path(Path(run))
    state = load_checkpoint(path)
    operator_state = require_operator(state, "stylegan", path, legacy=is_legacy_stylegan)
    architecture = recorded_architecture(state)
    G = generator_from_state(operator_state, device=device, architecture=architecture)
    return SourceGenerator(G=G, architecture=architecture, class_names=list(operator_state.get("class_names", [])),
                           checkpoint_sha256=file_sha256(path))


def save_generator(source: SourceGenerator, path: Path) -> Path:
    tensors = {k: v.detach().cpu().contiguous() for k, v in source.G.state_dict().items()}
    meta = {"architecture": json.dumps(source.architecture.to_dict()), "class_names": json.dumps(source.class_names),
            "checkpoint_sha256": source.checkpoint_sha256}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load_generator(path: Path, *, device: torch.device) -> SourceGenerator:
    if not path.is_file():
        raise InputError(f"{path} does not exist; run 'ganfactory datasetgan sample RUN OUT' first.")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    architecture = StyleGANArchitecture.from_dict(json.loads(meta["architecture"]))
    G = architecture.generator()
    G.load_state_dict(load_file(str(path)))
    G = G.to(device).eval().requires_grad_(False)
    return SourceGenerator(G=G, architecture=architecture, class_names=json.loads(meta["class_names"]),
                           checkpoint_sha256=meta["checkpoint_sha256"])


def class_for(source: SourceGenerator, index: int, class_name: str | None) -> int | None:
    """The class of the index-th latent: the named one, else cycling through the classes; None unconditional."""
    if not source.conditional:
        return None
    if class_name is not None:
        if class_name not in source.class_names:
            raise InputError(f"Class '{class_name}' is not one of the StyleGAN run's classes: "
                             f"{', '.join(source.class_names)}.")
        return source.class_names.index(class_name)
    return index % source.G.num_classes


@torch.no_grad()
def latents_for(source: SourceGenerator, *, seeds: list[int], classes: list[int | None],
                truncation: float) -> torch.Tensor:
    """W+ latents [B, num_ws, w_dim] (fp32) for these seeds and classes; the same seed always gives the same."""
    device = next(source.G.parameters()).device
    z = z_batch(seeds, source.G.z_dim, device)
    c = None if classes[0] is None else torch.tensor(classes, dtype=torch.long, device=device)
    return source.G.mapping(z, c, truncation).float()


def write_latents(path: Path, *, ws: torch.Tensor, seeds: list[int], classes: list[int | None],
                  ids: list[str], metadata: dict[str, str]) -> Path:
    tensors = {"ws": ws.cpu().contiguous(), "seeds": torch.tensor(seeds, dtype=torch.int64),
               "classes": torch.tensor([-1 if c is None else c for c in classes], dtype=torch.int64)}
    meta = {**metadata, "ids": json.dumps(ids)}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def read_latents(path: Path) -> tuple[torch.Tensor, list[str], dict[str, str]]:
    """(ws [N, num_ws, w_dim], ids, metadata) of a latents file."""
    if not path.is_file():
        raise InputError(f"{path} does not exist; run 'ganfactory datasetgan sample RUN OUT' first.")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        ws = handle.get_tensor("ws")
    return ws, json.loads(meta["ids"]), meta

