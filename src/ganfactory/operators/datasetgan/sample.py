"""`datasetgan sample RUN OUT`: the images to annotate, their latents and a classes.json template.

Sample i uses seed `--seed` + i (and, for a conditional run, class i mod classes or `--class-name`), so
the same command always writes the same images. Sampling again appends: new samples get new ids, and a sample
already there (perhaps annotated) is never replaced, nor one that `add-real` added. The generator is copied into
the folder, so later steps never depend on the StyleGAN run staying as it was; the latents record that run's
checkpoint hash.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.classes import template_classes, write_classes
from ganfactory.operators.datasetgan.config import SampleOptions
from ganfactory.operators.datasetgan.generator import (
    SourceGenerator,
    class_for,
    latents_for,
    load_stylegan_run,
    read_latents,
    save_generator,
    write_latents,
)
from ganfactory.operators.datasetgan.layout import AnnotationFolder, annotation_folder
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import open_run_folder
from ganfactory.output.lock import exclusive_output

log = logging.getLogger(__name__)
TEMPLATE_NAMES = ["background", "object"]


def sample_id(index: int) -> str:
    return f"{index:04d}"


def sample_for_annotation(run: Path, out: Path, config: SampleOptions, *, device: torch.device) -> Path:
    """Write OUT/annotation/{images/<id>.png, latents.safetensors, generator.safetensors, classes.json,
    samples.json}; returns the annotation folder. Run again (more samples, another --seed or --truncation) it
    appends: a (seed, class, truncation) already sampled is kept, each new one gets the next free id, and no
    sample there (annotated, or added by `add-real`) is replaced. classes.json is kept when the user already
    edited it. Raises InputError for --num 0, samples of another StyleGAN checkpoint in OUT or another process
    writing into OUT, and CheckpointError for a RUN that is not a StyleGAN run."""
    if config.num < 1:
        raise InputError("Give --num N (at least 1): how many images to write for annotation.")
    source = load_stylegan_run(run, device=device)
    root = open_run_folder(out, inputs=(Path(run),)).root
    with exclusive_output(root):  # one writer per OUT: two samplings would take the same new ids
        return _append_samples(source, Path(run), annotation_folder(root), config)


def _append_samples(source: SourceGenerator, run: Path, folder: AnnotationFolder, config: SampleOptions) -> Path:
    folder.images_dir.mkdir(parents=True, exist_ok=True)
    present = _present(folder, source)
    wanted = [(config.seed + i, class_for(source, i, config.class_name)) for i in range(config.num)]
    new = [(seed, c) for seed, c in wanted if (seed, c, float(config.truncation)) not in present.keys]
    if not new:
        log.info("The %d samples asked for are in %s already; nothing to add.", len(wanted), folder.images_dir)
        return folder.root
    seeds, classes = [s for s, _ in new], [c for _, c in new]
    ids = _free_ids(folder, present.ids, len(new))
    ws = latents_for(source, seeds=seeds, classes=classes, truncation=config.truncation)
    with torch.no_grad():
        images = to_uint8(source.G.synthesis(ws, noise_mode="const"))
    for sid, image in zip(ids, images):  # images first: a latent is never left without its image
        save_image(image, folder.images_dir / f"{sid}.png")
    meta = present.meta or {"checkpoint_sha256": source.checkpoint_sha256, "truncation": repr(config.truncation),
                            "run": str(Path(run).resolve())}
    write_latents(folder.latents_path, ws=torch.cat([present.ws, ws.cpu()]), seeds=present.seeds + seeds,
                  classes=present.classes + classes, ids=present.ids + ids,
                  metadata={k: v for k, v in meta.items() if k != "ids"})
    if not folder.generator_path.is_file():
        save_generator(source, folder.generator_path)
    names = [source.class_names[c] if c is not None else None for c in classes]
    atomic_write_json(folder.samples_path, present.records + [
        {"id": i, "seed": s, "class_index": c, "class_name": n, "truncation": float(config.truncation)}
        for i, s, c, n in zip(ids, seeds, classes, names)])
    if not folder.classes_path.exists():
        write_classes(folder.classes_path, template_classes(TEMPLATE_NAMES))
    log.info("Wrote %d images to annotate in %s (%d were there already).", len(ids), folder.images_dir,
             len(present.ids))
    return folder.root


@dataclass
class _Present:
    """The samples a folder holds already: latents, ids, seeds (-1: real), classes, samples.json records, and the
    (seed, class, truncation) of each generated one."""

    ws: torch.Tensor
    ids: list[str]
    seeds: list[int]
    classes: list[int | None]
    records: list[dict[str, Any]]
    meta: dict[str, str]
    keys: set[tuple[int, int | None, float]]


def _present(folder: AnnotationFolder, source: SourceGenerator) -> _Present:
    if not folder.latents_path.is_file():
        return _Present(ws=torch.empty(0, int(source.G.num_ws), int(source.G.w_dim)), ids=[], seeds=[], classes=[],
                        records=[], meta={}, keys=set())
    ws, ids, meta = read_latents(folder.latents_path)
    if meta.get("checkpoint_sha256") != source.checkpoint_sha256:
        raise InputError(f"{folder.latents_path} holds samples of another StyleGAN checkpoint than this RUN; sample "
                         "from the run those samples came from, or into a fresh OUT.")
    with safe_open(str(folder.latents_path), framework="pt") as handle:
        seeds, classes = handle.get_tensor("seeds").tolist(), handle.get_tensor("classes").tolist()
    records = json.loads(folder.samples_path.read_text(encoding="utf-8")) if folder.samples_path.is_file() else []
    default = float(meta.get("truncation", "nan"))  # folders sampled before per-sample truncation was recorded
    truncation = {r.get("id"): float(r["truncation"]) for r in records
                  if isinstance(r, dict) and r.get("truncation") is not None}
    keys = {(seed, None if c < 0 else c, truncation.get(sid, default))
            for sid, seed, c in zip(ids, seeds, classes) if seed >= 0}
    return _Present(ws=ws, ids=ids, seeds=seeds, classes=[None if c < 0 else c for c in classes], records=records,
                    meta=meta, keys=keys)


def _free_ids(folder: AnnotationFolder, taken: list[str], count: int) -> list[str]:
    """`count` numbered ids after every numbered id in use (latents or images), so no file is ever reused."""
    names = set(taken) | {p.stem for p in folder.images_dir.glob("*.png")}
    first = max((int(n) + 1 for n in names if n.isdigit()), default=0)
    return [sample_id(first + k) for k in range(count)]
