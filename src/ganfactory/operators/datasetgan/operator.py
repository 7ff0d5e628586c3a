"""The DatasetGAN operator's parts for the engine (engine.contract): the interpreter's training plan, the
pairs written after training, and generation from a trained folder."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch

from ganfactory.engine.checkpoint import (
    checkpoint_provenance,
    checkpoint_run_root,
    load_checkpoint,
    load_latest,
    require_operator,
)
from ganfactory.engine.contract import RunEnv, Stage, TrainingPlan
from ganfactory.engine.driver import seed_everything
from ganfactory.engine.loop import Schedule
from ganfactory.errors import CheckpointError, InputError
from ganfactory.operators.datasetgan.annotations import load_annotations
from ganfactory.operators.datasetgan.architecture import InterpreterArchitecture
from ganfactory.operators.datasetgan.classes import SegmentationClass, read_classes
from ganfactory.operators.datasetgan.config import DatasetGANConfig, GenerateOptions
from ganfactory.operators.datasetgan.ensemble import PixelEnsemble
from ganfactory.operators.datasetgan.generate import PairPlan, generate_pairs
from ganfactory.operators.datasetgan.generator import SourceGenerator, load_generator, read_latents
from ganfactory.operators.datasetgan.hparams import InterpreterTraining
from ganfactory.operators.datasetgan.layout import AnnotationFolder, annotation_folder
from ganfactory.operators.datasetgan.training import InterpreterTrainable
from ganfactory.output.layout import RunFolder

log = logging.getLogger(__name__)


def annotated_set(folder: AnnotationFolder, source: SourceGenerator,
                  classes: list[SegmentationClass]) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """(ids, latents [N, num_ws, w_dim], masks uint8 [N, R, R]) of the annotated samples.
    Raises InputError when the latents belong to another generator or an image has no latent."""
    ws_all, latent_ids, meta = read_latents(folder.latents_path)
    if meta.get("checkpoint_sha256") != source.checkpoint_sha256:
        raise InputError(f"{folder.latents_path} was sampled from another StyleGAN checkpoint than "
                         f"{folder.generator_path}; run 'datasetgan sample' again into a fresh folder.")
    ids, masks = load_annotations(folder, classes=classes, size=source.G.resolution)
    position = {sid: i for i, sid in enumerate(latent_ids)}
    missing = [sid for sid in ids if sid not in position]
    if missing:
        raise InputError(f"Image {folder.images_dir / (missing[0] + '.png')} has no latent in "
                         f"{folder.latents_path}; only images written by 'datasetgan sample' or 'datasetgan add-real' "
                         "can be used.")
    return ids, ws_all[[position[sid] for sid in ids]], torch.from_numpy(masks)


def annotations_digest(ids: list[str], ws: torch.Tensor, masks: torch.Tensor,
                       classes: list[SegmentationClass]) -> str:
    """SHA-256 of what the interpreter learns from: the ids, their latents [N, num_ws, w_dim], their decoded masks
    uint8 [N, R, R] (so a mask saved in another format but meaning the same hashes the same) and the class names."""
    digest = hashlib.sha256(json.dumps({"ids": ids, "classes": [c.name for c in classes]}).encode())
    for tensor in (ws.float().cpu(), masks.cpu()):
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def current_annotations(folder: AnnotationFolder, source: SourceGenerator) -> tuple[list[SegmentationClass], list[str],
                                                                                     torch.Tensor, torch.Tensor, str]:
    """(classes, ids, latents, masks, their annotations_digest) of OUT/annotation as it is now."""
    classes = read_classes(folder.classes_path)
    ids, ws, masks = annotated_set(folder, source, classes)
    return classes, ids, ws, masks, annotations_digest(ids, ws, masks, classes)


def _retire_other_interpreter(run: RunFolder, digest: str) -> None:
    """An interpreter trained on other annotations (corrected masks, another class list, other samples; or one
    from before the hash was recorded) must not be resumed: its checkpoints go to OUT/superseded/, so the engine
    starts a new training, and one line says so."""
    found = load_latest(run.model_dir)
    if found is None:
        return
    recorded = str(found[0].get("operator", {}).get("annotations_sha256") or "")
    if recorded == digest:
        return
    aside = run.root / "superseded" / f"interpreter-{(recorded or 'unhashed')[:12]}"
    aside.mkdir(parents=True, exist_ok=True)
    for path in sorted(run.model_dir.iterdir()):
        if path.is_file():
            path.replace(aside / path.name)
    log.warning("The annotations changed since the interpreter in %s was trained (masks, classes or samples): "
                "training a new interpreter; the old checkpoints are kept in %s.", run.model_dir, aside)


def plan_datasetgan(env: RunEnv[DatasetGANConfig]) -> TrainingPlan:
    config = env.config
    folder = annotation_folder(env.run.root)
    source = load_generator(folder.generator_path, device=env.device)
    classes, ids, ws, masks, digest = current_annotations(folder, source)
    if env.context.is_main:
        _retire_other_interpreter(env.run, digest)
    log.info("Training the style interpreter on %d annotated images, %d classes.", len(ids), len(classes))

    def build(previous: list[Any]) -> InterpreterTrainable:
        seed_everything(config.seed, env.context.rank)
        return InterpreterTrainable(hparams=InterpreterTraining.from_config(config), G=source.G, ws=ws.to(env.device),
                                    masks=masks,
                                    num_classes=len(classes), annotations_sha256=digest)

    stage = Stage(name="", build=build, architecture=lambda t: t.architecture(),
                  schedule=Schedule(tick_units=min(1.0, config.epochs), keep_checkpoints=config.keep_checkpoints))
    record = {"resolved": {"annotated": ids, "classes": [c.name for c in classes], "annotations_sha256": digest}}
    return TrainingPlan(stages=[stage], config_record=record)


def _plan(config: GenerateOptions) -> PairPlan:
    return PairPlan(keep=config.num, drop_uncertain=config.drop_uncertain, seed=config.seed,
                    truncation=config.truncation, batch=config.batch, pixel_chunk=config.pixel_chunk,
                    class_name=config.class_name, shard=config.shard_part)


def _generate(env: RunEnv[Any], ensemble: PixelEnsemble, provenance: dict[str, Any], folder: AnnotationFolder,
              options: GenerateOptions) -> int:
    """Pairs from `folder`'s generator and classes into env.run (the DatasetGAN folder itself, or the OUT of
    `ganfactory generate FOLDER OUT`), as `options` say."""
    source = load_generator(folder.generator_path, device=env.device)
    provenance = {**provenance, "generator_checkpoint_sha256": source.checkpoint_sha256}
    return generate_pairs(source, ensemble, run=env.run, plan=_plan(options),
                          classes=read_classes(folder.classes_path), provenance=provenance, stop=env.stop)


def generate_after_training(env: RunEnv[DatasetGANConfig], trainables: list[Any], provenance: dict[str, str]) -> int:
    """`train ... --num N` also generates N pairs; without --num only the interpreter is trained."""
    config = env.config
    return (_generate(env, trainables[-1].ensemble, provenance, annotation_folder(env.run.root), config.pair_options())
            if config.num else 0)


def load_interpreter(path: Path, *, annotations_sha256: str | None = None,
                     num_classes: int | None = None) -> PixelEnsemble:
    """The trained ensemble of a DatasetGAN checkpoint (rebuilt from the architecture it records). With
    `annotations_sha256` / `num_classes` (the annotation folder as it is now), raises InputError when the
    checkpoint was trained on other annotations or another number of classes."""
    state = load_checkpoint(path)
    operator_state = require_operator(state, "datasetgan", path)
    architecture = InterpreterArchitecture.from_checkpoint(state)
    if architecture is None:
        raise CheckpointError(f"{path} records no interpreter architecture; pass a checkpoint of a 'ganfactory "
                              "datasetgan train' run.")
    recorded = operator_state.get("annotations_sha256")
    other_classes = num_classes is not None and architecture.num_classes != num_classes
    if other_classes or (annotations_sha256 and recorded and recorded != annotations_sha256):
        raise InputError(f"The interpreter {path} was trained on other annotations than {path.parent.parent} holds "
                         f"now (masks, classes or samples changed); run 'ganfactory datasetgan train "
                         f"{path.parent.parent}' to train on them, then generate.")
    ensemble = architecture.ensemble()
    ensemble.load_state_dict(operator_state["ensemble"])
    return ensemble.eval()


def generate_from_checkpoint(env: RunEnv[DatasetGANConfig], model: Path) -> int:
    """`datasetgan generate OUT` (pairs into OUT from its latest interpreter checkpoint) and `ganfactory generate
    FOLDER OUT` (pairs into OUT from FOLDER's): the annotations are read from the folder the checkpoint is in."""
    config = env.config
    if not config.num:
        raise InputError("Give --num N (at least 1): how many image + mask pairs to write.")
    folder = annotation_folder(checkpoint_run_root(model))
    classes = read_classes(folder.classes_path)
    try:
        _, _, _, _, digest = current_annotations(folder, load_generator(folder.generator_path, device=env.device))
    except InputError:  # samples still being annotated (sampled again): the interpreter is what there is
        digest = None
    ensemble = load_interpreter(model, annotations_sha256=digest, num_classes=len(classes))
    return _generate(env, ensemble.to(env.device), checkpoint_provenance(model), folder, config.pair_options())
