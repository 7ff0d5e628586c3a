"""The StyleGAN2-ADA operator: validate -> decode -> train (or resume) -> generate N images per class."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import load_image_folder
from ganfactory.engine.checkpoint import (checkpoint_provenance, list_checkpoints, load_checkpoint,
                                         resolve_checkpoint_path)
from ganfactory.engine.distributed import DistributedContext, barrier, distributed_session
from ganfactory.engine.loop import Schedule, train
from ganfactory.engine.precision import resolve_device, resolve_precision
from ganfactory.engine.signals import StopRequest
from ganfactory.errors import CheckpointError
from ganfactory.operators.inputs import dataset_fingerprint, squeeze_grayscale, usable_files
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.generate import GenerationPlan, TorchSampler, generate_dataset
from ganfactory.operators.stylegan.models import generator_from_state, preset_for
from ganfactory.operators.stylegan.training import StyleGANTrainable
from ganfactory.output.layout import RunFolder, open_run_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StyleGANResult:
    run: RunFolder
    checkpoint: Path
    images_written: int
    kimg: float


def run_stylegan(data: Path | None, out: Path, config: StyleGANConfig, *, progress_bar: bool = True,
                 stop: StopRequest | None = None) -> StyleGANResult:
    """Train on DATA into OUT (resuming what OUT already holds), then generate; `predict` only generates."""
    with distributed_session(resolve_device(config.device)) as (context, device):
        run = open_run_folder(out, inputs=(data,) if data else (), model=config.resume if config.predict else None,
                              command="stylegan")
        if config.predict:
            return predict_stylegan(run, config, device=device)
        trainable = _train(Path(data), run, config, device=device, context=context, progress_bar=progress_bar,
                           stop=stop)
        barrier(context)
        checkpoint = list_checkpoints(run.model_dir)[0]
        written = _generate(trainable.G_ema, run, config, trainable.class_names, trainable.num_classes > 0,
                            checkpoint=checkpoint, device=device) if context.is_main else 0
        return StyleGANResult(run=run, checkpoint=checkpoint, images_written=written, kimg=trainable.done)


def _train(data: Path, run: RunFolder, config: StyleGANConfig, *, device: torch.device, context: DistributedContext,
           progress_bar: bool, stop: StopRequest | None) -> StyleGANTrainable:
    files = usable_files(data, run=run if context.is_main else None, do_validation=config.do_validation,
                         resolution=config.resolution, min_images=config.min_images)
    images = load_image_folder(data, resolution=config.resolution, channels=config.channels or 3, mode=config.mode,
                               background=config.background, files=files)
    if config.channels == 0:
        images = squeeze_grayscale(images)
    preset = preset_for(config)
    precision = resolve_precision(config.precision, device)
    # The networks' init and the synthesis noise draw from the global torch RNG (which every checkpoint captures):
    # seeding it makes --seed reproduce a run, so a stopped and resumed run equals an uninterrupted one.
    torch.manual_seed(config.seed * 1000003 + context.rank)
    trainable = StyleGANTrainable(config=config, preset=preset, data=images, device=device, precision=precision,
                                  context=context)
    trainable.data_fingerprint = dataset_fingerprint(files, data)
    initial = _initial_state(config, trainable) if not list_checkpoints(run.model_dir) else None
    if context.is_main:
        run.write_config({"operator": "stylegan", "data": str(data), **config.to_json_dict(),
                          "resolved": {"preset": dataclasses.asdict(preset), "precision": precision, "device": str(device),
                                       "world_size": context.world_size, "classes": trainable.class_names}})
    schedule = Schedule(tick_units=config.tick_kimg, checkpoint_ticks=config.snapshot_ticks, log_steps=10,
                        keep_checkpoints=config.keep_checkpoints)
    train(trainable, run=run, schedule=schedule, context=context, stop=stop, progress_bar=progress_bar,
          initial_state=initial)
    return trainable


def _initial_state(config: StyleGANConfig, trainable: StyleGANTrainable) -> dict[str, Any] | None:
    """`--resume CKPT` on a fresh run folder: the same data continues the run, other data is transfer learning."""
    if not config.resume:
        return None
    state = load_checkpoint(resolve_checkpoint_path(Path(config.resume)))
    if "operator" not in state or "G_ema" not in state["operator"]:
        raise CheckpointError(f"{config.resume} is not a StyleGAN checkpoint; pass a checkpoint from a stylegan run.")
    if state["operator"].get("data_fingerprint") == trainable.data_fingerprint:
        log.info("Continuing the run of %s (same data): counters go on.", config.resume)
        return state
    log.info("Transfer learning from %s: weights that fit are loaded, counters start at zero.", config.resume)
    trainable.load_weights(state["operator"], strict=False)
    return None


def _generate(G: torch.nn.Module, run: RunFolder, config: StyleGANConfig, class_names: list[str], conditional: bool,
              *, checkpoint: Path, device: torch.device) -> int:
    plan = GenerationPlan(class_names=class_names, conditional=conditional, count=config.generate_num,
                          seed=config.seed, truncation=config.truncation, image_format=config.image_format)
    provenance = checkpoint_provenance(checkpoint)
    sampler = TorchSampler(G.to(device), device, resolve_precision(config.precision, device))
    return generate_dataset(sampler, run=run, plan=plan, provenance=provenance)


def predict_stylegan(run: RunFolder, config: StyleGANConfig, *, device: torch.device) -> StyleGANResult:
    """Only generate, from `--resume MODEL` (a checkpoint, a run folder or an exported .onnx)."""
    if not config.resume:
        raise CheckpointError("--predict needs --resume MODEL: a run folder, a .pt checkpoint or an exported .onnx.")
    model = resolve_checkpoint_path(Path(config.resume))
    if model.suffix == ".onnx":
        from ganfactory.export.stylegan import OnnxStyleGANSampler

        sampler = OnnxStyleGANSampler(model)
        class_names, conditional = sampler.class_names, sampler.conditional
    else:
        state = load_checkpoint(model)["operator"]
        sampler = TorchSampler(generator_from_state(state, device=device), device,
                               resolve_precision(config.precision, device))
        class_names, conditional = list(state["class_names"]), int(state["num_classes"]) > 0
    plan = GenerationPlan(class_names=class_names, conditional=conditional, count=config.generate_num,
                          seed=config.seed, truncation=config.truncation, image_format=config.image_format)
    written = generate_dataset(sampler, run=run, plan=plan,
                               provenance=checkpoint_provenance(model))
    return StyleGANResult(run=run, checkpoint=model, images_written=written, kimg=0.0)
