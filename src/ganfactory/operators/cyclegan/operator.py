"""The CycleGAN operator: validate both folders -> train (or resume) -> translate every SOURCE image."""

from __future__ import annotations

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
from ganfactory.engine.precision import autocast, resolve_device, resolve_precision
from ganfactory.engine.signals import StopRequest
from ganfactory.errors import CheckpointError
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.training import CycleGANTrainable, build_generator
from ganfactory.operators.cyclegan.translate import TranslationJob, Translator, translate_folder
from ganfactory.operators.inputs import usable_files
from ganfactory.output.layout import RunFolder, open_run_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleGANResult:
    run: RunFolder
    checkpoint: Path
    images_written: int
    epochs: float


def run_cyclegan(source: Path, target: Path, out: Path, config: CycleGANConfig, *, progress_bar: bool = True,
                 stop: StopRequest | None = None) -> CycleGANResult:
    with distributed_session(resolve_device(config.device)) as (context, device):
        run = open_run_folder(out, inputs=(source, target), model=config.resume if config.predict else None,
                              command="cyclegan")
        files = {"source": _files(source, "source", run, config, context)}
        if config.predict:
            return _predict(source, files["source"], run, config, device=device)
        files["target"] = _files(target, "target", run, config, context)
        trainable = _train(source, target, files, run, config, device=device, context=context,
                           progress_bar=progress_bar, stop=stop)
        barrier(context)
        checkpoint = list_checkpoints(run.model_dir)[0]
        written = 0
        if context.is_main:
            provenance = checkpoint_provenance(checkpoint)
            written = _translate_all(trainable, source, target, files, run, config, provenance)
        return CycleGANResult(run=run, checkpoint=checkpoint, images_written=written, epochs=trainable.done)


def _files(folder: Path, name: str, run: RunFolder, config: CycleGANConfig, context: DistributedContext) -> list[Path]:
    found = usable_files(folder, run=run if context.is_main else None, do_validation=config.do_validation,
                         resolution=(config.image_height, config.image_width), min_images=config.min_images,
                         report_name=f"validation_{name}.json")
    return [path for paths in found.values() for path in paths]


def _train(source: Path, target: Path, files: dict[str, list[Path]], run: RunFolder, config: CycleGANConfig, *,
           device: torch.device, context: DistributedContext, progress_bar: bool,
           stop: StopRequest | None) -> CycleGANTrainable:
    domains = [load_image_folder(folder, resolution=config.load_hw(), channels=config.image_channel, mode="crop",
                                 files={folder.name: files[name]})
               for name, folder in (("source", source), ("target", target))]
    precision = resolve_precision(config.precision, device)
    trainable = CycleGANTrainable(config=config, source=domains[0], target=domains[1], device=device,
                                  precision=precision, context=context, domain_names=(source.name, target.name))
    initial = None
    if config.resume and not list_checkpoints(run.model_dir):
        initial = load_checkpoint(resolve_checkpoint_path(Path(config.resume)))
        if initial.get("operator", {}).get("operator") != "cyclegan":
            raise CheckpointError(f"{config.resume} is not a CycleGAN checkpoint; pass one from a cyclegan run.")
    if context.is_main:
        run.write_config({"operator": "cyclegan", "source": str(source), "target": str(target),
                          **config.to_json_dict(), "resolved": {"precision": precision, "device": str(device),
                                                               "world_size": context.world_size,
                                                               "steps_per_epoch": trainable.steps_per_epoch}})
    schedule = Schedule(tick_units=1.0, checkpoint_ticks=config.save_frequency, log_steps=config.log_frequency,
                        keep_checkpoints=config.keep_checkpoints)
    train(trainable, run=run, schedule=schedule, context=context, stop=stop, progress_bar=progress_bar,
          initial_state=initial)
    return trainable


def torch_translator(G: torch.nn.Module, device: torch.device, precision: str = "fp32") -> Translator:
    G = G.to(device).eval()

    def translate(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), autocast(device, precision):
            return G(images.to(device).contiguous(memory_format=torch.channels_last)).float().cpu()
    return translate


def _jobs(source: Path, target: Path, files: dict[str, list[Path]], run: RunFolder,
          config: CycleGANConfig) -> list[tuple[str, TranslationJob]]:
    """ab: SOURCE -> Data/; both: Data/source_to_target/ and Data/target_to_source/."""
    both = config.direction == "both"
    common = dict(size=(config.image_height, config.image_width), channels=config.image_channel,
                  batch_size=config.translate_batch, image_format=config.image_format)
    jobs = [("G_AB", TranslationJob(files=files["source"], root=source, target_name=target.name,
                                    out_dir=run.data_dir / "source_to_target" if both else run.data_dir,
                                    direction="source_to_target", **common))]
    if both:
        jobs.append(("G_BA", TranslationJob(files=files["target"], root=target, target_name=source.name,
                                            out_dir=run.data_dir / "target_to_source",
                                            direction="target_to_source", **common)))
    return jobs


def _translate_all(trainable: CycleGANTrainable, source: Path, target: Path, files: dict[str, list[Path]],
                   run: RunFolder, config: CycleGANConfig, provenance: dict[str, Any]) -> int:
    return sum(translate_folder(torch_translator(trainable.nets[name], trainable.device, trainable.precision), job,
                                run=run, provenance=provenance)
               for name, job in _jobs(source, target, files, run, config))


def _predict(source: Path, files: list[Path], run: RunFolder, config: CycleGANConfig, *,
             device: torch.device) -> CycleGANResult:
    """Only translate SOURCE, with `--resume MODEL` (a run folder, a .pt checkpoint or an exported .onnx)."""
    if not config.resume:
        raise CheckpointError("--predict needs --resume MODEL: a run folder, a .pt checkpoint or an exported .onnx.")
    model = resolve_checkpoint_path(Path(config.resume))
    translator, target_name, size, channels = _load_translator(model, device)
    job = TranslationJob(files=files, root=source, out_dir=run.data_dir, target_name=target_name,
                         direction="source_to_target", size=size or (config.image_height, config.image_width),
                         channels=channels, batch_size=config.translate_batch, image_format=config.image_format)
    written = translate_folder(translator, job, run=run,
                               provenance=checkpoint_provenance(model))
    return CycleGANResult(run=run, checkpoint=model, images_written=written, epochs=0.0)


def _load_translator(model: Path, device: torch.device) -> tuple[Translator, str, tuple[int, int] | None, int]:
    """(translator, target domain name, trained size or None for any, channels) of a checkpoint or .onnx."""
    if model.suffix == ".onnx":
        from ganfactory.export.cyclegan import OnnxCycleGANTranslator

        onnx_translator = OnnxCycleGANTranslator(model)
        return onnx_translator, onnx_translator.target_name, onnx_translator.size, onnx_translator.channels
    state = load_checkpoint(model)["operator"]
    if state.get("operator") != "cyclegan":
        raise CheckpointError(f"{model} is not a CycleGAN checkpoint; pass one from a cyclegan run.")
    saved = CycleGANConfig(**state["config"])
    G = build_generator(saved)
    G.load_state_dict(state["G_AB"])
    return (torch_translator(G, device), state["domain_names"][1], (saved.image_height, saved.image_width),
            saved.image_channel)
