"""The StackGAN operator: a prepared folder -> stage I -> stage II (frozen stage I) -> images from sentences.
The engine's driver runs the sequence; each stage is an engine stage with its own checkpoints (model/stage1/,
model/stage2/), so an interrupted run resumes inside the stage it was in."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import torch

from ganfactory.engine.checkpoint import (
    checkpoint_provenance,
    load_checkpoint,
    require_operator,
    resolve_checkpoint_path,
)
from ganfactory.engine.contract import RunEnv, Stage, TrainingPlan
from ganfactory.engine.driver import seed_everything
from ganfactory.engine.loop import Schedule
from ganfactory.engine.precision import Precision, precision_for_model
from ganfactory.errors import InputError
from ganfactory.operators.stackgan.architecture import StackGANArchitecture
from ganfactory.operators.stackgan.config import StackGANConfig
from ganfactory.operators.stackgan.data import PreparedData, load_images, read_prepared
from ganfactory.operators.stackgan.generate import (
    CaptionRequest,
    ImagePipeline,
    captions_from_file,
    generate_from_captions,
)
from ganfactory.operators.stackgan.hparams import StackGANTraining
from ganfactory.operators.stackgan.models import SamplingInputs, pipeline_from_checkpoint
from ganfactory.operators.stackgan.training import Stage1Trainable, Stage2Trainable, StageData

log = logging.getLogger(__name__)


def _stage_data(data: PreparedData, rows: list[int], size: int, config: StackGANConfig) -> StageData:
    shown = data.subset(test=True) or rows
    shown = (shown * config.sample_captions)[:config.sample_captions]
    return StageData(images=load_images(data, rows, size), embeddings=data.embeddings[rows],
                     counts=[len(data.captions[i]) for i in rows],
                     sample_captions=[data.captions[i][0] for i in shown],
                     sample_embeddings=torch.from_numpy(data.embeddings[shown, 0]))


def _schedule(config: StackGANConfig) -> Schedule:
    return Schedule(tick_units=config.tick_epochs, checkpoint_ticks=config.snapshot_ticks,
                    keep_checkpoints=config.keep_checkpoints)


def plan_stackgan(env: RunEnv[StackGANConfig]) -> TrainingPlan:
    config = env.config
    data = read_prepared(env.inputs[0])
    rows = data.subset(test=False)
    if len(rows) < 2:
        raise InputError(f"{data.root} has {len(rows)} training image(s); StackGAN needs at least two (lower "
                         "--test-fraction in stackgan-prepare).")
    _requests(env, data, data.encoder)  # what generation will need, checked before the first step
    class_names = sorted(set(data.classes))
    common = dict(hparams=StackGANTraining.from_config(config), device=env.device, class_names=class_names,
                  precision=env.precision)

    def arch(stage: Literal["stage1", "stage2"]) -> StackGANArchitecture:
        return StackGANArchitecture.from_config(config, stage=stage, embedding_dim=int(data.embeddings.shape[2]),
                                                encoder=data.encoder)

    def build1(previous: list[Any]) -> Stage1Trainable:
        seed_everything(config.seed, env.context.rank)  # training noise draws from the global RNG
        return Stage1Trainable(data=_stage_data(data, rows, config.stage1_resolution, config), arch=arch("stage1"),
                               **common)

    def build2(previous: list[Any]) -> Stage2Trainable:
        return Stage2Trainable(stage1=previous[0].G, data=_stage_data(data, rows, config.resolution, config),
                               arch=arch("stage2"), **common)

    stages = [Stage(name="stage1", build=build1, schedule=_schedule(config), architecture=lambda t: t.arch,
                    initial_state=lambda t: _initial_state(config))]
    if config.stage2_epochs > 0:
        stages.append(Stage(name="stage2", build=build2, schedule=_schedule(config), architecture=lambda t: t.arch))
    resolved = {"classes": class_names, "train_images": len(rows), "embedding_dim": int(data.embeddings.shape[2]),
                "encoder": data.encoder}
    return TrainingPlan(stages=stages, config_record={"resolved": resolved})


def _initial_state(config: StackGANConfig) -> dict[str, Any] | None:
    """`--resume CKPT` on a fresh run folder continues a stage-I checkpoint (a stage-II one cannot start a run)."""
    if not config.resume:
        return None
    path = resolve_checkpoint_path(Path(config.resume))
    state = load_checkpoint(path)
    if require_operator(state, "stackgan", path).get("stage") != "stage1":
        raise InputError(f"--resume {path} is a stage-II checkpoint; to continue that run, rerun its own command "
                         "in its run folder, or pass a stage-I checkpoint.")
    return state


def _requests(env: RunEnv[StackGANConfig], data: PreparedData | None, encoder: str) -> list[CaptionRequest]:
    """--captions FILE, else every caption of the test split (its class known, its embedding prepared); [] with
    --generate-num 0, which generates nothing. Raises InputError when there is nothing to generate from."""
    config = env.config
    if config.generate_num == 0:
        return []
    if config.captions:
        return captions_from_file(Path(config.captions), config.encoder or encoder)
    if data is None:
        raise InputError("Nothing to generate from: pass --captions FILE (one sentence a line) or a folder prepared by "
                         "'ganfactory stackgan-prepare' (DATA; --data DIR for 'ganfactory generate').")
    rows = data.subset(test=True)
    if not rows:
        raise InputError(f"{data.root} has no test images to take captions from, so nothing could be generated "
                         "after training; pass --captions FILE (one sentence a line), prepare DATA with "
                         "--test-fraction above 0, or train only with --generate-num 0.")
    return [CaptionRequest(text, data.classes[i], data.embeddings[i, j])
            for i in rows for j, text in enumerate(data.captions[i])]


def _generate(env: RunEnv[StackGANConfig], pipeline: ImagePipeline, inputs: SamplingInputs, data: PreparedData | None,
              provenance: dict[str, str], precision: Precision) -> int:
    config = env.config
    return generate_from_captions(pipeline, _requests(env, data, inputs.encoder), run=env.run,
                                  count=config.generate_num, seed=config.seed, z_dim=inputs.z_dim,
                                  condition_dim=inputs.condition_dim, device=env.device,
                                  image_format=config.image_format, precision=precision,
                                  provenance={**provenance, "stage": inputs.stage}, stop=env.stop)


def generate_after_training(env: RunEnv[StackGANConfig], trainables: list[Any], provenance: dict[str, str]) -> int:
    last = trainables[-1]
    return _generate(env, last.pipeline(), SamplingInputs.of(last.arch), read_prepared(env.inputs[0]), provenance,
                     env.precision)


def predict_stackgan(env: RunEnv[StackGANConfig], model: Path) -> int:
    """Only generate, from a checkpoint of either stage (stage I alone gives stage-I images) or its .onnx export."""
    pipeline: Any  # TextToImage, or its ONNX twin with the same interface
    if model.suffix == ".onnx":
        from ganfactory.operators.stackgan.onnx import OnnxTextToImage

        onnx_pipeline = OnnxTextToImage(model)
        pipeline, inputs = onnx_pipeline, SamplingInputs.of_export(onnx_pipeline.arch)
    else:
        pipeline, arch, _ = pipeline_from_checkpoint(load_checkpoint(model), model)
        inputs = SamplingInputs.of(arch)
    data = read_prepared(env.inputs[0]) if env.inputs else None
    precision = precision_for_model(model, env.precision)
    return _generate(env, pipeline, inputs, data, checkpoint_provenance(model), precision)


def run_stackgan(data: Path | None, out: Path, config: StackGANConfig, *, progress_bar: bool = True,
                 stop: Any = None) -> Any:
    """Train both stages on a prepared DATA into OUT (resuming what OUT holds), then generate; `predict` only
    generates from `--resume MODEL`. Returns the driver's RunResult."""
    from ganfactory.engine.driver import run_operator
    from ganfactory.operators.stackgan.spec import STACKGAN  # the spec names this module lazily: no cycle

    return run_operator(STACKGAN, (data,), out, config, progress_bar=progress_bar, stop=stop)
