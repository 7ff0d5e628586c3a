"""Translating a whole folder, streamed from disk in batches: any number of images, never all in memory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import iter_image_batches
from ganfactory.engine.checkpoint import file_sha256
from ganfactory.engine.precision import FP32, Precision
from ganfactory.engine.signals import StopRequest
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import ManifestWriter, class_annotation, is_current, make_entry, stable_id
from ganfactory.output.names import unique_output_paths

log = logging.getLogger(__name__)

Translator = Callable[[torch.Tensor], torch.Tensor]  # [-1, 1] images in, translated [-1, 1] images out


@dataclass(frozen=True)
class TranslationJob:
    files: list[Path]  # source images
    root: Path  # their folder: output keeps the relative path, with the same stem
    out_dir: Path  # where translated images go
    target_name: str  # the domain they are carried into (the manifest's label)
    direction: str  # "source_to_target" or "target_to_source"
    size: tuple[int, int]
    channels: int
    batch_size: int = 8
    image_format: str = "png"
    precision: Precision = FP32  # what the translator computes in (engine.precision.precision_for_model)


def _wanted_path(job: TranslationJob, source: Path) -> Path:
    rel = source.relative_to(job.root) if source.is_relative_to(job.root) else Path(source.name)
    return job.out_dir / rel.with_suffix(f".{job.image_format}")


def output_paths(job: TranslationJob) -> dict[Path, Path]:
    """Each source's output file: same relative path and stem, made unique (`a.png` and `a.jpg` -> `a.png`,
    `a_png.png` in sorted order), the same on every run so a resumed translation finds what it wrote."""
    return unique_output_paths(sorted(job.files), lambda source: _wanted_path(job, source))


def translate_folder(translate: Translator, job: TranslationJob, *, run: RunFolder,
                     provenance: dict[str, Any], stop: StopRequest | None = None) -> int:
    """Translate every file of the job, skipping those already written and listed (a resumed run).
    Raises RunInterrupted (exit 75) between batches once `stop` is set."""
    written = 0
    outputs = output_paths(job)
    with ManifestWriter(run.manifest_path) as manifest:
        todo = [f for f in sorted(job.files) if not _done(outputs[f], run, manifest, _determinants(job, f, provenance))]
        stale = sum(outputs[f].exists() and manifest.get(_entry_id(outputs[f], run)) is not None for f in todo)
        if stale:
            log.warning("Replacing %d translations in %s made with another model or from changed sources.", stale,
                        job.out_dir)
        for images, paths in iter_image_batches(todo, size=job.size, channels=job.channels,
                                                batch_size=job.batch_size, mode="resize"):
            if stop is not None:
                stop.raise_if_set(f"translating {written} images into {job.out_dir}")
            with torch.no_grad():
                translated = to_uint8(translate(images.float() / 127.5 - 1))
            for image, source in zip(translated, paths):
                path = save_image(image, outputs[source], image_format=job.image_format)
                manifest.put(make_entry(
                    entry_id=_entry_id(path, run), source=path.resolve(),
                    annotations=[class_annotation(job.target_name)], operator="cyclegan",
                    **{**provenance, **_determinants(job, source, provenance)}))
                written += 1
            manifest.flush()  # replaced lines follow their files batch by batch
    log.info("Translated %d images into %s.", written, job.out_dir)
    return written


def _entry_id(path: Path, run: RunFolder) -> str:
    return stable_id("cyclegan", path.relative_to(run.root))


def _determinants(job: TranslationJob, source: Path, provenance: dict[str, Any]) -> dict[str, Any]:
    """What decides a translation: the model, the source file and its content, the direction, the size, the
    precision."""
    return {"checkpoint_sha256": provenance.get("checkpoint_sha256"), "source_file": str(source.resolve()),
            "source_sha256": file_sha256(source), "direction": job.direction, "size": list(job.size),
            "precision": job.precision.name}


def _done(path: Path, run: RunFolder, manifest: ManifestWriter, determinants: dict[str, Any]) -> bool:
    return path.exists() and is_current(manifest.get(_entry_id(path, run)), determinants)
