"""`datasetgan add-real OUT PROJECTION`: real images, projected with `ganfactory project`, join the samples to
annotate, in the one annotation layout.

Each projected image becomes sample `real-<id>`: its latent is appended to annotation/latents.safetensors
(seed -1: it has none), the real image (as projected: cropped and resized to G's size) goes to
annotation/images/ to be annotated, and G(w) to annotation/reconstructions/ for reference; samples.json
records both, the source file and the PSNR. The interpreter learns from G's features at that latent, so the
mask, drawn on the real image, is only as right as the reconstruction is close: check the PSNR and the
reconstruction before annotating. Running it again with the same projection adds nothing new.
"""

from __future__ import annotations

import json
import logging
import shutil
from contextlib import nullcontext
from pathlib import Path

import torch
from safetensors import safe_open

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.generator import load_generator, write_latents
from ganfactory.operators.datasetgan.layout import AnnotationFolder, annotation_folder
from ganfactory.output.atomic import atomic_write, atomic_write_json
from ganfactory.output.lock import exclusive_output
from ganfactory.output.writable import require_writable_output

log = logging.getLogger(__name__)
REAL_PREFIX = "real-"


def _read_table(path: Path, hint: str) -> tuple[dict[str, torch.Tensor], list[str], dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{path} does not exist; {hint}")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    return tensors, json.loads(meta["ids"]), meta


def add_real(out: Path, projection: Path) -> list[str]:
    """Add every projected image of PROJECTION to OUT's annotation folder; returns the ids added (new ones).
    Raises InputError when OUT has no sampled generator, PROJECTION is not a `ganfactory project` output, it
    was projected with another StyleGAN checkpoint, an id is taken by a different latent, or another process is
    writing into OUT."""
    with exclusive_output(Path(out)) if Path(out).is_dir() else nullcontext():  # one writer per OUT
        return _add_real(Path(out), Path(projection))


def _add_real(out: Path, projection: Path) -> list[str]:
    folder = annotation_folder(Path(out))
    require_writable_output(folder.root, folder.images_dir, folder.reconstructions_dir)
    generator_sha = load_generator(folder.generator_path, device=torch.device("cpu")).checkpoint_sha256
    projection = Path(projection)
    new, new_ids, new_meta = _read_table(projection / "latents.safetensors",
                                         "pass the OUT folder of 'ganfactory project RUN IMAGES OUT'.")
    if new_meta.get("checkpoint_sha256") != generator_sha:
        raise InputError(f"{projection} was projected with another StyleGAN checkpoint than {folder.generator_path}; "
                         "project the images again with the run that 'datasetgan sample' used.")
    old, old_ids, old_meta = _read_table(folder.latents_path, "run 'ganfactory datasetgan sample RUN OUT' first.")
    ids = [REAL_PREFIX + i for i in new_ids]
    fresh = _fresh_ids(ids, new["ws"], old_ids, old["ws"], folder)
    records = {r["id"]: r for r in json.loads((projection / "projection.json").read_text())["images"]}
    for sid, pid in zip(ids, new_ids):  # images first: a latent without its image is never left behind
        _copy(projection / records[pid]["target"], folder.images_dir / f"{sid}.png")
        _copy(projection / records[pid]["reconstruction"], folder.reconstructions_dir / f"{sid}.png")
    keep = [ids.index(sid) for sid in fresh]
    if keep:
        write_latents(folder.latents_path, ws=torch.cat([old["ws"], new["ws"][keep]]),
                      seeds=old["seeds"].tolist() + [-1] * len(keep),
                      classes=[None if c < 0 else c for c in old["classes"].tolist() + new["classes"][keep].tolist()],
                      ids=old_ids + fresh, metadata={k: v for k, v in old_meta.items() if k != "ids"})
    _record_samples(folder, [(sid, records[new_ids[ids.index(sid)]], projection) for sid in fresh])
    log.info("Added %d projected real images to %s (%d were already there).", len(fresh), folder.images_dir,
             len(ids) - len(fresh))
    return fresh


def _fresh_ids(ids: list[str], ws: torch.Tensor, old_ids: list[str], old_ws: torch.Tensor,
               folder: AnnotationFolder) -> list[str]:
    """The ids not yet in the folder; one already there with another latent is a collision (InputError)."""
    position = {sid: i for i, sid in enumerate(old_ids)}
    fresh = []
    for index, sid in enumerate(ids):
        if sid not in position:
            fresh.append(sid)
        elif not torch.equal(old_ws[position[sid]], ws[index]):
            raise InputError(f"Sample '{sid}' in {folder.latents_path} holds another latent; rename the image "
                             "and project it again, or add it to a fresh DatasetGAN folder.")
    return fresh


def _copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise InputError(f"{source} is missing; run 'ganfactory project' again into that folder.")
    atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))


def _record_samples(folder: AnnotationFolder, added: list[tuple[str, dict, Path]]) -> None:
    samples = json.loads(folder.samples_path.read_text()) if folder.samples_path.is_file() else []
    samples += [{"id": sid, "seed": None, "class_index": r["class_index"], "class_name": r["class_name"],
                 "real": True, "source": r["source"], "reconstruction": f"reconstructions/{sid}.png",
                 "psnr_db": r["psnr_db"], "projection": str(projection.resolve())}
                for sid, r, projection in added]
    atomic_write_json(folder.samples_path, samples)
