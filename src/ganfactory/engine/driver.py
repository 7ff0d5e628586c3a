"""The one sequence every operator runs: distributed session -> run folder -> (predict | train each stage ->
barrier -> newest checkpoint -> provenance -> generate). Operators supply the parts (engine.contract)."""

from __future__ import annotations

import logging
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from ganfactory.config import RunOptions
from ganfactory.engine.checkpoint import (
    architecture_difference,
    checkpoint_provenance,
    find_checkpoint,
    list_checkpoints,
    load_latest,
    prune_checkpoints,
    resolve_checkpoint_path,
)
from ganfactory.engine.contract import OperatorSpec, RunEnv, RunResult, Stage, TrainingPlan, checkpoint_meta
from ganfactory.engine.distributed import barrier, distributed_session
from ganfactory.engine.loop import Trainable, train
from ganfactory.engine.precision import resolve_device, resolve_precision
from ganfactory.engine.signals import RunInterrupted, StopRequest
from ganfactory.engine.stats import set_phase
from ganfactory.errors import CheckpointError, ConfigError
from ganfactory.output.layout import RunFolder, open_run_folder
from ganfactory.output.lock import exclusive_output
from ganfactory.output.manifest import cited_checkpoints

log = logging.getLogger(__name__)


def run_operator(spec: OperatorSpec, inputs: tuple[Path | None, ...], out: Path, config: RunOptions, *,
                 progress_bar: bool = True, stop: StopRequest | None = None,
                 sampler_only: bool = False) -> RunResult:
    """Train `spec` on `inputs` into OUT (resuming what OUT holds), then generate; with `config.predict`
    only predict from `config.resume`. `sampler_only`: `ganfactory generate` (no input folders at all).

    Raises ConfigError for a config of another operator; CheckpointError for a missing or foreign model;
    OutputInUse (an InputError) while another process writes into OUT.
    """
    if not isinstance(config, spec.config):
        raise ConfigError(f"The '{spec.name}' operator needs a {spec.config.__name__}, not {type(config).__name__}.")
    device = resolve_device(config.device)
    stop = stop or StopRequest()
    # The signal handlers cover the whole run: a stop while generating ends with exit 75 and the resume hint
    # too, after the batch in hand is written (the training loop re-installs the same handlers).
    with stop, distributed_session(device) as (context, rank_device), ExitStack() as held:
        given = tuple(Path(p) for p in inputs if p is not None)
        model = config.resume if (config.predict or sampler_only) else None
        run = open_run_folder(out, inputs=given + config.read_paths, model=model or None,
                              model_file=find_checkpoint(Path(model), prefer=config.use_checkpoint) if model else None,
                              command=spec.name)
        if context.is_main:  # one writer per OUT (the main rank for a distributed run): a second one is refused
            shard = config.shard_part  # generate --shard K/N: the shards of one generation share OUT
            held.enter_context(exclusive_output(run.root, shard=shard.name if shard else ""))
        env = RunEnv(run=run, config=config, inputs=given, context=context, device=rank_device,
                     precision=resolve_precision(config.precision, rank_device), stop=stop)
        if config.predict or sampler_only:
            return _predict(spec, env, sampler_only=sampler_only)
        plan = spec.plan(env)
        started = time.monotonic()
        trainables, budget_reached = _train_stages(spec, env, plan, progress_bar=progress_bar, stop=stop)
        train_seconds = time.monotonic() - started
        barrier(context)
        checkpoint = _newest_checkpoint(run, plan.stages[-1])
        written = 0
        if context.is_main:
            set_phase(run.logs_dir, "generating")
            written = spec.generate(env, trainables, checkpoint_provenance(checkpoint))
            # checkpoints that only stale manifest lines kept are free to go once those lines are replaced
            prune_checkpoints(checkpoint.parent, keep=config.keep_checkpoints,
                              pinned=cited_checkpoints(run.manifest_path))
            set_phase(run.logs_dir, "done")
        last = trainables[-1]
        return RunResult(run=run, checkpoint=checkpoint, images_written=written, done=last.done, unit=last.unit,
                         total=last.total, precision=env.precision.name, device=str(env.device),
                         budget_reached=budget_reached, train_seconds=train_seconds)


def _train_stages(spec: OperatorSpec, env: RunEnv, plan: TrainingPlan, *, progress_bar: bool,
                  stop: StopRequest | None) -> tuple[list[Trainable], bool]:
    """Each stage in order; a finished stage resumes from its last checkpoint and takes no step, so an
    interrupted run continues in the stage it was in. Returns the trainables and whether the time budget
    (--max-minutes, one for all stages) ended the last stage before its total."""
    fresh_folder = not _any_checkpoint(env.run)
    minutes = env.config.max_minutes
    deadline = time.monotonic() + 60 * minutes if minutes else None  # one budget for all stages
    trainables: list[Trainable] = []
    budget_reached = False
    for index, stage in enumerate(plan.stages):
        trainable = stage.build(list(trainables))
        _require_same_architecture(env.run, stage, trainable)  # before config.json is written
        initial = stage.initial_state(trainable) if (stage.initial_state and fresh_folder and index == 0) else None
        if index == 0 and env.context.is_main:
            _write_config(spec, env, plan)
        meta: dict[str, Any] = checkpoint_meta(spec)
        if stage.architecture is not None:
            meta["architecture"] = stage.architecture(trainable).to_dict()
        loop = train(trainable, run=env.run, schedule=stage.schedule, context=env.context, stop=stop,
                     progress_bar=progress_bar, initial_state=initial, stage=stage.name, meta=meta, deadline=deadline)
        trainables.append(trainable)
        if loop.budget_reached and index < len(plan.stages) - 1:  # a later stage would generate untrained
            raise RunInterrupted(f"The time budget (--max-minutes {minutes:g}) ran out in stage '{stage.name}' "
                                 f"after saving a checkpoint; run the same command to go on.")
        budget_reached = loop.budget_reached
    return trainables, budget_reached


def _require_same_architecture(run: RunFolder, stage: Stage, trainable: Trainable) -> None:
    """A run folder whose checkpoints hold other networks (another resolution, preset, channel count) cannot
    continue with these parameters: one sentence, and its config.json is left as it is."""
    if stage.architecture is None:
        return
    found = load_latest(run.model_dir / stage.name if stage.name else run.model_dir)
    if found is None:
        return
    current = stage.architecture(trainable)
    difference = architecture_difference(current.from_checkpoint(found[0]), current)
    if difference:
        raise CheckpointError(f"{run.root} holds a run whose networks differ from these parameters ({difference}); "
                              f"run the same command with the run's own parameters (its config.json) to continue "
                              f"it, or train into a new OUT with --resume {run.root} to start from what fits.")


def _write_config(spec: OperatorSpec, env: RunEnv, plan: TrainingPlan) -> None:
    # Absolute paths: generation, export and interpolation read the recorded data from any folder later.
    inputs = dict(zip(spec.input_names, (os.path.abspath(p) for p in env.inputs)))
    resolved = {"precision": env.precision.name, "device": str(env.device), "world_size": env.context.world_size}
    options = env.config.to_json_dict()
    options.update({key: os.path.abspath(Path(options[key]).expanduser()) for key in env.config.path_fields
                    if isinstance(options.get(key), str) and options[key]})
    record = {"operator": spec.name, **inputs, **options, **plan.config_record}
    record["resolved"] = {**resolved, **record.get("resolved", {})}
    env.run.write_config(record)


def _any_checkpoint(run: RunFolder) -> bool:
    model = run.model_dir
    return bool(list_checkpoints(model)) or any(list_checkpoints(d) for d in model.iterdir() if d.is_dir())


def _newest_checkpoint(run: RunFolder, stage: Stage) -> Path:
    folder = run.model_dir / stage.name if stage.name else run.model_dir
    found = list_checkpoints(folder)
    if not found:
        raise CheckpointError(f"Training ended without a checkpoint in {folder}; run the same command again.")
    return found[0]


def _predict(spec: OperatorSpec, env: RunEnv, *, sampler_only: bool) -> RunResult:
    """Only generate, from `--resume MODEL` (a run folder, a checkpoint or an exported .onnx)."""
    function = spec.sampler if sampler_only else spec.predict
    if function is None:
        what = "generate from a model alone" if sampler_only else "predict"
        raise ConfigError(f"The '{spec.name}' operator cannot {what}; train it with 'ganfactory {spec.name}'.")
    if not env.config.resume:
        raise CheckpointError("--predict needs --resume MODEL: a run folder, a .pt checkpoint or an exported .onnx.")
    model = resolve_checkpoint_path(Path(env.config.resume), prefer=env.config.use_checkpoint)
    written = function(env, model)
    return RunResult(run=env.run, checkpoint=model, images_written=written, done=0.0, precision=env.precision.name,
                     device=str(env.device))


def seed_everything(seed: int, rank: int) -> None:
    """Seed the global torch RNG from --seed (per rank): network init and noise draw from it, and every
    checkpoint captures it, so a stopped and resumed run equals an uninterrupted one."""
    torch.manual_seed(seed * 1000003 + rank)
