"""Writing `generate_num` images per class into Data/ with one manifest line each, resumably."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from ganfactory.engine.precision import autocast
from ganfactory.engine.signals import StopRequest
from ganfactory.operators.stylegan.models import synthesize
from ganfactory.operators.stylegan.sampling import image_seed
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import ManifestWriter, class_annotation, is_current, make_entry, stable_id

log = logging.getLogger(__name__)


class ImageSampler(Protocol):
    """A generator behind torch or onnxruntime: seeds (+ class) in, [-1, 1] images out."""

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor: ...


@dataclass
class TorchSampler:
    G: torch.nn.Module
    device: torch.device
    precision: str = "fp32"  # bf16 generates ~2.3x faster on CPUs with native bf16

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor:
        with autocast(self.device, self.precision):
            return synthesize(self.G, seeds=seeds, class_index=class_index, truncation=truncation,
                              device=self.device)


@dataclass(frozen=True)
class GenerationPlan:
    class_names: list[str]
    conditional: bool
    count: int
    seed: int
    truncation: float
    batch_size: int = 16
    image_format: str = "png"


def _determinants(plan: GenerationPlan, provenance: dict[str, Any], seed: int,
                  class_index: int | None) -> dict[str, Any]:
    """Everything that decides one generated image (the format is in its file name; bf16 and fp32 differ in the
    last bits, so the precision counts too)."""
    return {"checkpoint_sha256": provenance.get("checkpoint_sha256"), "seed": seed, "truncation": plan.truncation,
            "class_index": class_index, "precision": provenance.get("precision")}


def _pending(plan: GenerationPlan, run: RunFolder, class_index: int | None, class_name: str | None,
             manifest: ManifestWriter, provenance: dict[str, Any]) -> tuple[list[int], int]:
    """(image indices still to write, how many of them replace a file made otherwise): a resumed generation
    skips what is there and listed with the same model, seed, truncation and class."""
    todo, stale = [], 0
    for index in range(plan.count):
        seed = image_seed(plan.seed, index)
        path = run.class_dir(class_name) / f"seed{seed:08d}.{plan.image_format}"
        entry = manifest.get(stable_id("stylegan", path.relative_to(run.root)))
        if not (path.exists() and is_current(entry, _determinants(plan, provenance, seed, class_index))):
            todo.append(index)
            stale += entry is not None and path.exists()
    return todo, stale


def generate_dataset(sampler: ImageSampler, *, run: RunFolder, plan: GenerationPlan,
                     provenance: dict[str, Any], stop: StopRequest | None = None) -> int:
    """Generate `plan.count` images per class; returns how many files were written now. An image OUT holds
    from another model, truncation or class is made again: its file and manifest line are replaced.
    Raises RunInterrupted (exit 75) between batches once `stop` is set."""
    written = 0
    provenance = {**provenance, "precision": str(getattr(sampler, "precision", "fp32"))}  # onnxruntime: fp32
    classes: list[tuple[int | None, str | None]] = (
        list(enumerate(plan.class_names)) if plan.conditional else [(None, None)])
    with ManifestWriter(run.manifest_path) as manifest:
        for class_index, class_name in classes:
            run.class_dir(class_name).mkdir(parents=True, exist_ok=True)
            todo, stale = _pending(plan, run, class_index, class_name, manifest, provenance)
            if stale:
                log.warning("Replacing %d images in %s made with another model or other parameters.", stale,
                            run.class_dir(class_name))
            for start in range(0, len(todo), plan.batch_size):
                if stop is not None:
                    stop.raise_if_set(f"writing {written} images into {run.data_dir}")
                indices = todo[start:start + plan.batch_size]
                seeds = [image_seed(plan.seed, i) for i in indices]
                images = to_uint8(sampler(seeds=seeds, class_index=class_index, truncation=plan.truncation))
                for seed, image in zip(seeds, images):
                    _write_one(run, manifest, image, seed=seed, class_index=class_index,
                               class_name=class_name or plan.class_names[0], folder=class_name, plan=plan,
                               provenance=provenance)
                    written += 1
                manifest.flush()  # replaced lines follow their files batch by batch
    log.info("Wrote %d images to %s.", written, run.data_dir)
    return written


def _write_one(run: RunFolder, manifest: ManifestWriter, image: torch.Tensor, *, seed: int,
               class_index: int | None, class_name: str, folder: str | None, plan: GenerationPlan,
               provenance: dict[str, Any]) -> None:
    path = save_image(image, run.class_dir(folder) / f"seed{seed:08d}.{plan.image_format}",
                      image_format=plan.image_format)
    manifest.put(make_entry(
        entry_id=stable_id("stylegan", path.relative_to(run.root)), source=path.resolve(),
        annotations=[class_annotation(class_name)], operator="stylegan", seed=seed,
        class_index=class_index, truncation=plan.truncation, **provenance))
