"""The StyleGAN2-ADA operator: validate -> decode -> train (or resume) -> generate N images per class.

The engine's driver runs the sequence; this module supplies the parts (engine.contract.OperatorSpec).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import load_image_folder
from ganfactory.data.discovery import match_class_names
from ganfactory.data.split import require_disjoint_split, resolve_split
from ganfactory.engine.best import best_checkpoint, read_best
from ganfactory.engine.checkpoint import (
    architecture_difference,
    checkpoint_provenance,
    load_checkpoint,
    require_operator,
    resolve_checkpoint_path,
)
from ganfactory.engine.contract import RunEnv, RunResult, Stage, TrainingPlan
from ganfactory.engine.driver import run_operator, seed_everything
from ganfactory.engine.loop import Schedule
from ganfactory.engine.precision import Precision
from ganfactory.engine.signals import StopRequest
from ganfactory.errors import ConfigError
from ganfactory.metrics.confidence import ClassConfidenceFilter
from ganfactory.metrics.gate import MemorisationGate
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.metrics.network import FeatureNetwork, find_inception_file
from ganfactory.operators.inputs import dataset_fingerprint, squeeze_grayscale, usable_files
from ganfactory.operators.stylegan.architecture import StyleGANArchitecture
from ganfactory.operators.stylegan.balance import class_counts, training_images, training_root
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.generate import Filters, GenerationPlan, ImageSampler, TorchSampler, generate_dataset
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import (
    GRID_ROWS,
    generator_architecture,
    generator_from_state,
    preset_for,
    recorded_architecture,
)
from ganfactory.operators.stylegan.onnx import OnnxStyleGANSampler, export_stylegan
from ganfactory.operators.stylegan.quality import TrainingMetrics
from ganfactory.operators.stylegan.spec import STYLEGAN, is_legacy_stylegan
from ganfactory.operators.stylegan.training import StyleGANTrainable

log = logging.getLogger(__name__)

class StyleGANResult(RunResult):
    @property
    def kimg(self) -> float:
        return self.done


def run_stylegan(data: Path | None, out: Path, config: StyleGANConfig, *, progress_bar: bool = True,
                 stop: StopRequest | None = None) -> StyleGANResult:
    """Train on DATA into OUT (resuming what OUT already holds), then generate; `predict` only generates."""
    result = run_operator(STYLEGAN, (data,), out, config, progress_bar=progress_bar, stop=stop)
    return StyleGANResult(**vars(result))


def plan_stylegan(env: RunEnv[StyleGANConfig]) -> TrainingPlan:
    config, split = env.config, resolve_split(env.inputs[0])
    data = split.train  # DATA/train when DATA holds train/ and test/ (data/split.py), else DATA
    files = usable_files(data, run=env.run if env.context.is_main else None, do_validation=config.do_validation,
                         resolution=config.resolution, min_images=config.min_images)
    images = load_image_folder(data, resolution=config.resolution, channels=config.channels or 3, mode=config.mode,
                               background=config.background, files=files)
    if config.channels == 0:
        images = squeeze_grayscale(images)
    require_disjoint_split(split, train_files=[path for paths in files.values() for path in paths])
    preset = preset_for(config, device_type=env.device.type)
    if preset.name != config.cfg:
        log.info("--cfg %s on a %s trains the '%s' preset; pass --cfg to choose another.", config.cfg,
                 env.device.type.upper(), preset.name)

    network = _metric_network(config)  # loaded before training: a bad --features fails at once
    _check_generation_choices(config, files, conditional=images.conditional)

    def build(previous: list[Any]) -> StyleGANTrainable:
        seed_everything(config.seed, env.context.rank)
        trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset, data=images,
                                      device=env.device, precision=env.precision, context=env.context)
        trainable.data_fingerprint = dataset_fingerprint(files, data)
        if network is not None:
            trainable.metrics = TrainingMetrics(network=network, names=config.metric_names, images=images.images,
                                                labels=images.labels, num_classes=trainable.num_classes,
                                                count=config.metrics_images)
        return trainable

    def architecture(trainable: StyleGANTrainable) -> StyleGANArchitecture:
        return generator_architecture(preset, img_channels=int(trainable.images.shape[1]),
                                      num_classes=trainable.num_classes)

    stage = Stage(name="", build=build, architecture=architecture,
                  initial_state=lambda trainable: _initial_state(config, trainable, architecture(trainable)),
                  schedule=Schedule(tick_units=config.tick_kimg, checkpoint_ticks=config.snapshot_ticks, log_steps=10,
                                    keep_checkpoints=config.keep_checkpoints,
                                    metrics_ticks=config.metrics_ticks if network is not None else 0))
    # grid_rows: the class of each row of the progress grids (generate_grid), for the console's labels
    resolved = {"preset": dataclasses.asdict(preset), "classes": images.class_names,
                "grid_rows": images.class_names[:GRID_ROWS] if images.conditional else []}
    if network is not None:  # which network produced the figures in stats.jsonl
        resolved["metrics_network"] = network.identity.as_dict()
    return TrainingPlan(stages=[stage], config_record={"resolved": resolved})


def _metric_network(config: StyleGANConfig) -> FeatureNetwork | None:
    """The feature network for --metrics (--features PATH, else the shipped Inception); None without --metrics."""
    if not config.metric_names:
        return None
    return load_feature_network(Path(config.features) if config.features else None)


def _check_generation_choices(config: StyleGANConfig, files: dict[str, list[Path]], *, conditional: bool) -> None:
    """What generation after training will need, checked before training: a --per-class-target below the
    largest class, a missing --features network or --training-data folder, --min-class-confidence on a single
    class fail now, not hours later."""
    if config.min_class_confidence is not None and not (conditional and len(files) > 1):
        raise ConfigError("--min-class-confidence needs two or more class folders (a class-conditional model); "
                          "leave it out for a single class.")
    if config.balance or config.per_class_target is not None:
        class_counts(config, list(files), {name: len(paths) for name, paths in files.items()})
    if config.training_data:
        training_root(config, (), None)
    if config.gate_active and config.features and not config.metric_names:
        load_feature_network(Path(config.features))
    elif config.gate_active and not config.features:
        find_inception_file()


def _initial_state(config: StyleGANConfig, trainable: StyleGANTrainable,
                   architecture: StyleGANArchitecture) -> dict[str, Any] | None:
    """`--resume CKPT` on a fresh run folder: the same data and networks continue the run; other data, or
    other networks (resolution, preset, channels), is transfer learning from the weights that fit."""
    if not config.resume:
        return None
    path = resolve_checkpoint_path(Path(config.resume))
    state = load_checkpoint(path)
    operator_state = require_operator(state, "stylegan", path, legacy=is_legacy_stylegan)
    difference = architecture_difference(recorded_architecture(state), architecture)
    if operator_state.get("data_fingerprint") == trainable.data_fingerprint and not difference:
        log.info("Continuing the run of %s (same data): counters go on.", config.resume)
        return state
    why = f"other networks: {difference}" if difference else "other data"
    log.info("Transfer learning from %s (%s): weights that fit are loaded, counters start at zero.", config.resume,
             why)
    trainable.load_weights(operator_state, strict=False)
    return None


def _generation_plan(config: StyleGANConfig, class_names: list[str], conditional: bool,
                     real_counts: dict[str, int] | None = None) -> GenerationPlan:
    counts = class_counts(config, class_names, real_counts) if real_counts is not None else {}
    return GenerationPlan(class_names=class_names, conditional=conditional, count=config.generate_num,
                          seed=config.seed, truncation=config.truncation, image_format=config.image_format,
                          counts=counts, shard=config.shard_part)


def _generation_inputs(env: RunEnv[StyleGANConfig], model: Path | None, class_names: list[str],
                       conditional: bool) -> tuple[GenerationPlan, Filters]:
    """The plan (per-class counts under --balance / --per-class-target), the memorisation gate (with
    --max-similarity or --nearest) and the class-confidence filter (--min-class-confidence), all from the
    training images' train split (data/split.py), never its test split."""
    config = env.config
    if not config.needs_training_images:
        return _generation_plan(config, class_names, conditional), Filters()
    if config.min_class_confidence is not None and not conditional:
        raise ConfigError("--min-class-confidence needs two or more class folders (a class-conditional model); "
                          "leave it out for a single class.")
    training = training_images(config, env.inputs, model)
    if not conditional:  # one class, whatever the training folder calls it
        training = {class_names[0]: [path for paths in training.values() for path in paths]}
    else:  # a training folder 'Cats' is the generator's class 'cats'
        same = match_class_names(training, class_names)
        training = {same[name]: paths for name, paths in training.items()}
    plan = _generation_plan(config, class_names, conditional, {name: len(paths) for name, paths in training.items()})
    gate = None
    if config.gate_active:
        network = load_feature_network(Path(config.features) if config.features else None)
        gate = MemorisationGate.build(network=network, root=training_root(config, env.inputs, model),
                                      classes=training, max_similarity=config.max_similarity)
    confidence = None
    if config.min_class_confidence is not None:
        confidence = ClassConfidenceFilter.build(root=training_root(config, env.inputs, model), classes=training,
                                                 min_confidence=config.min_class_confidence)
    return plan, Filters(gate=gate, confidence=confidence)


def generate_after_training(env: RunEnv[StyleGANConfig], trainables: list[Any], provenance: dict[str, str]) -> int:
    """Generate with the best checkpoint's G_ema when a metric kept one (and --use-checkpoint best), else the
    trained G_ema."""
    trainable = trainables[-1]
    config = env.config
    G = trainable.G_ema
    best = best_checkpoint(env.run.model_dir) if config.use_checkpoint == "best" else None
    if best is not None:
        state = load_checkpoint(best)
        G = generator_from_state(require_operator(state, "stylegan", best, legacy=is_legacy_stylegan),
                                 device=env.device, architecture=recorded_architecture(state))
        provenance = checkpoint_provenance(best)
        log.info("Generating with the best checkpoint %s (%s).", best, read_best(env.run.model_dir))
    sampler = TorchSampler(G.to(env.device), env.device, env.precision)
    plan, filters = _generation_inputs(env, None, trainable.class_names, trainable.num_classes > 0)
    return generate_dataset(sampler, run=env.run, plan=plan, provenance=provenance, stop=env.stop, gate=filters.gate,
                            confidence=filters.confidence)


def load_sampler(model: Path, *, device: torch.device, precision: Precision) -> tuple[ImageSampler, list[str], bool]:
    """(sampler, class names, conditional) of an exported .onnx (which computes in fp32) or a StyleGAN checkpoint
    (in `precision`)."""
    if model.suffix == ".onnx":
        onnx_sampler = OnnxStyleGANSampler(model)
        return onnx_sampler, onnx_sampler.class_names, onnx_sampler.conditional
    state = load_checkpoint(model)
    operator_state = require_operator(state, "stylegan", model, legacy=is_legacy_stylegan)
    G = generator_from_state(operator_state, device=device, architecture=recorded_architecture(state))
    return (TorchSampler(G, device, precision), list(operator_state["class_names"]),
            int(operator_state["num_classes"]) > 0)


def predict_stylegan(env: RunEnv[StyleGANConfig], model: Path) -> int:
    """Only generate, from a checkpoint or an exported .onnx."""
    sampler, class_names, conditional = load_sampler(model, device=env.device, precision=env.precision)
    plan, filters = _generation_inputs(env, model, class_names, conditional)
    return generate_dataset(sampler, run=env.run, plan=plan, provenance=checkpoint_provenance(model), stop=env.stop,
                            gate=filters.gate, confidence=filters.confidence)


def export_checkpoint(state: dict[str, Any], path: Path) -> Path:
    operator_state = require_operator(state, "stylegan", path, legacy=is_legacy_stylegan)
    return export_stylegan(operator_state, path, architecture=recorded_architecture(state))
