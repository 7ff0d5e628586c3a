"""`datasetgan sample RUN OUT`: the images to annotate, their latents and a classes.json template.

Sample i uses seed `--seed` + i (and, for a conditional run, class i mod classes or `--class-name`), so
the same command always writes the same images. The generator is copied into the folder, so later steps
never depend on the StyleGAN run staying as it was; the latents record that run's checkpoint hash.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.classes import template_classes, write_classes
from ganfactory.operators.datasetgan.config import DatasetGANConfig
from ganfactory.operators.datasetgan.generator import (
    class_for,
    latents_for,
    load_stylegan_run,
    save_generator,
    write_latents,
)
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import open_run_folder

log = logging.getLogger(__name__)
TEMPLATE_NAMES = ["background", "object"]


def sample_id(index: int) -> str:
    return f"{index:04d}"


def sample_for_annotation(run: Path, out: Path, config: DatasetGANConfig, *, device: torch.device) -> Path:
    """Write OUT/annotation/{images/<id>.png, latents.safetensors, generator.safetensors, classes.json,
    samples.json}; returns the annotation folder. classes.json is kept when the user already edited it.
    Raises InputError for --num 0 and CheckpointError for a RUN that is not a StyleGAN run."""
    if config.num < 1:
        raise InputError("Give --num N (at least 1): how many images to write for annotation.")
    source = load_stylegan_run(run, device=device)
    folder = annotation_folder(open_run_folder(out, inputs=(Path(run),)).root)
    folder.images_dir.mkdir(parents=True, exist_ok=True)
    seeds = [config.seed + i for i in range(config.num)]
    classes = [class_for(source, i, config.class_name) for i in range(config.num)]
    ids = [sample_id(i) for i in range(config.num)]
    ws = latents_for(source, seeds=seeds, classes=classes, truncation=config.truncation)
    with torch.no_grad():
        images = to_uint8(source.G.synthesis(ws, noise_mode="const"))
    for sid, image in zip(ids, images):
        save_image(image, folder.images_dir / f"{sid}.png")
    meta = {"checkpoint_sha256": source.checkpoint_sha256, "truncation": repr(config.truncation),
            "run": str(Path(run).resolve())}
    write_latents(folder.latents_path, ws=ws, seeds=seeds, classes=classes, ids=ids, metadata=meta)
    save_generator(source, folder.generator_path)
    names = [source.class_names[c] if c is not None else None for c in classes]
    atomic_write_json(folder.samples_path, [{"id": i, "seed": s, "class_index": c, "class_name": n}
                                            for i, s, c, n in zip(ids, seeds, classes, names)])
    if not folder.classes_path.exists():
        write_classes(folder.classes_path, template_classes(TEMPLATE_NAMES))
    log.info("Wrote %d images to annotate in %s.", len(ids), folder.images_dir)
    return folder.root
