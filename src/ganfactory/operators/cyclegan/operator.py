"""The CycleGAN operator: validate both folders -> train (or resume) -> translate every SOURCE image."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import load_image_folder
from ganfactory.engine.checkpoint import (
    architecture_difference,
    checkpoint_provenance,
    load_checkpoint,
    require_operator,
    resolve_checkpoint_path,
)
from ganfactory.engine.contract import RunEnv, RunResult, Stage, TrainingPlan
from ganfactory.engine.driver import run_operator
from ganfactory.engine.loop import Schedule
from ganfactory.engine.precision import FP32, Precision, precision_for_model
from ganfactory.engine.signals import StopRequest
from ganfactory.errors import CheckpointError, ConfigError
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.cut import CUTTrainable
from ganfactory.operators.cyclegan.hparams import CycleGANTraining
from ganfactory.operators.cyclegan.models import generator_architecture, load_generator, recorded_architecture
from ganfactory.operators.cyclegan.onnx import OnnxCycleGANTranslator
from ganfactory.operators.cyclegan.spec import CYCLEGAN
from ganfactory.operators.cyclegan.structure import structure_report
from ganfactory.operators.cyclegan.training import CycleGANTrainable
from ganfactory.operators.cyclegan.translate import TranslationJob, Translator, output_paths, translate_folder
from ganfactory.operators.inputs import usable_files
from ganfactory.output.layout import RunFolder

log = logging.getLogger(__name__)


class CycleGANResult(RunResult):
    @property
    def epochs(self) -> float:
        return self.done


def run_cyclegan(source: Path, target: Path | None, out: Path, config: CycleGANConfig, *, progress_bar: bool = True,
                 stop: StopRequest | None = None) -> CycleGANResult:
    """Train between SOURCE and TARGET into OUT (resuming what OUT holds), then translate SOURCE; `predict`
    only translates SOURCE with `--resume MODEL`."""
    result = run_operator(CYCLEGAN, (source, target), out, config, progress_bar=progress_bar, stop=stop)
    return CycleGANResult(**vars(result))


def _files(folder: Path, name: str, env: RunEnv[CycleGANConfig]) -> list[Path]:
    config = env.config
    found = usable_files(folder, run=env.run if env.context.is_main else None, do_validation=config.do_validation,
                         resolution=(config.image_height, config.image_width), min_images=config.min_images,
                         report_name=f"validation_{name}.json")
    return [path for paths in found.values() for path in paths]


def plan_cyclegan(env: RunEnv[CycleGANConfig]) -> TrainingPlan:
    config = env.config
    if config.one_sided_problem():
        raise ConfigError(config.one_sided_problem())
    source, target = env.inputs
    files = {"source": _files(source, "source", env), "target": _files(target, "target", env)}
    domains = [load_image_folder(folder, resolution=config.load_hw(), channels=config.image_channel, mode="crop",
                                 files={folder.name: files[name]})
               for name, folder in (("source", source), ("target", target))]

    def build(previous: list[Any]) -> CycleGANTrainable | CUTTrainable:
        kind = CycleGANTrainable if config.mode == "cyclegan" else CUTTrainable
        trainable = kind(hparams=CycleGANTraining.from_config(config), source=domains[0], target=domains[1],
                         device=env.device, precision=env.precision, context=env.context,
                         domain_names=(source.name, target.name))
        trainable.files = files  # the translation after training reads the same validated files
        return trainable

    stage = Stage(name="", build=build, initial_state=lambda trainable: _initial_state(config),
                  architecture=lambda trainable: generator_architecture(config),
                  schedule=Schedule(tick_units=1.0, checkpoint_ticks=config.save_frequency,
                                    log_steps=config.log_frequency, keep_checkpoints=config.keep_checkpoints))
    steps = math.ceil(max(len(domains[0]), len(domains[1])) / config.batch_size)
    return TrainingPlan(stages=[stage], config_record={"resolved": {"steps_per_epoch": steps}})


def _initial_state(config: CycleGANConfig) -> dict[str, Any] | None:
    """`--resume CKPT` on a fresh run folder continues that run; networks of another shape (channels, blocks,
    width, image size) cannot continue it, and CycleGAN offers no transfer learning: one sentence."""
    if not config.resume:
        return None
    path = resolve_checkpoint_path(Path(config.resume))
    state = load_checkpoint(path)
    operator_state = require_operator(state, "cyclegan", path)
    difference = architecture_difference(recorded_architecture(state, operator_state), generator_architecture(config))
    if difference:
        raise CheckpointError(f"--resume {config.resume} was trained with other networks ({difference}); use its "
                              "parameters (its run's config.json) to continue it.")
    return state


def torch_translator(G: torch.nn.Module, device: torch.device, precision: Precision = FP32) -> Translator:
    """images [B, C, H, W] in [-1, 1] -> G's translations [B, C, H, W] (float32, on the CPU), in `precision`."""
    G = G.to(device).eval()

    def translate(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), precision.autocast():
            return G(images.to(device).contiguous(memory_format=torch.channels_last)).float().cpu()
    return translate


def _jobs(source: Path, target: Path, files: dict[str, list[Path]], run: RunFolder,
          config: CycleGANConfig, precision: Precision) -> list[tuple[str, TranslationJob]]:
    """ab: SOURCE -> Data/; both: Data/source_to_target/ and Data/target_to_source/."""
    both = config.direction == "both"
    common: dict[str, Any] = dict(size=(config.image_height, config.image_width), channels=config.image_channel,
                  batch_size=config.translate_batch, image_format=config.image_format, precision=precision)
    jobs = [("G_AB", TranslationJob(files=files["source"], root=source, target_name=target.name,
                                    out_dir=run.data_dir / "source_to_target" if both else run.data_dir,
                                    direction="source_to_target", **common))]
    if both:
        jobs.append(("G_BA", TranslationJob(files=files["target"], root=target, target_name=source.name,
                                            out_dir=run.data_dir / "target_to_source",
                                            direction="target_to_source", **common)))
    return jobs


def translate_after_training(env: RunEnv[CycleGANConfig], trainables: list[Any], provenance: dict[str, str]) -> int:
    trainable = trainables[-1]
    config = env.config
    source, target = env.inputs
    jobs = _jobs(source, target, trainable.files, env.run, config, env.precision)
    written = sum(translate_folder(torch_translator(trainable.nets[name], env.device, env.precision), job,
                                   run=env.run, provenance=provenance, stop=env.stop) for name, job in jobs)
    if config.structure_report and env.context.is_main:
        job = jobs[0][1]  # source -> target
        structure_report(output_paths(job), trainable.files["target"], env.run.root / "structure_report.json",
                         size=job.size, channels=job.channels)
    return written


def predict_cyclegan(env: RunEnv[CycleGANConfig], model: Path) -> int:
    """Only translate SOURCE with MODEL (a .pt checkpoint or an exported .onnx), in the run's precision."""
    config = env.config
    source = env.inputs[0]
    files = _files(source, "source", env)
    precision = precision_for_model(model, env.precision)
    translator, target_name, size, channels = _load_translator(model, env.device, precision)
    job = TranslationJob(files=files, root=source, out_dir=env.run.data_dir, target_name=target_name,
                         direction="source_to_target", size=size or (config.image_height, config.image_width),
                         channels=channels, batch_size=config.translate_batch, image_format=config.image_format,
                         precision=precision)
    return translate_folder(translator, job, run=env.run, provenance=checkpoint_provenance(model), stop=env.stop)


def _load_translator(model: Path, device: torch.device,
                     precision: Precision) -> tuple[Translator, str, tuple[int, int] | None, int]:
    """(translator, target domain name, trained size or None for any, channels) of a checkpoint or .onnx."""
    if model.suffix == ".onnx":
        onnx_translator = OnnxCycleGANTranslator(model)
        return onnx_translator, onnx_translator.target_name, onnx_translator.size, onnx_translator.channels
    G, arch, operator_state = load_generator(load_checkpoint(model), model)
    return (torch_translator(G, device, precision), operator_state["domain_names"][1], (arch.height, arch.width),
            arch.channels)
