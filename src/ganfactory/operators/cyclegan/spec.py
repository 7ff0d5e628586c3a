"""The CycleGAN operator as the CLI, `export`, `generate` and the job queue see it (engine.contract).
Its parts are imported on first use, so listing the commands does not load torch."""

from __future__ import annotations

from ganfactory.engine.contract import ExtraInput, OperatorSpec, RunResult, lazy
from ganfactory.operators.cyclegan.config import CycleGANConfig, CycleGANSampleOptions

_OPERATOR = "ganfactory.operators.cyclegan.operator"


def _report(result: RunResult) -> list[str]:
    return [f"Translated {result.images_written} images into {result.run.data_dir}",
            f"Manifest: {result.run.manifest_path}", f"Checkpoint: {result.checkpoint}"]


CYCLEGAN = OperatorSpec(
    name="cyclegan",
    summary="Train CycleGAN between SOURCE and TARGET (unpaired), then translate every SOURCE image into OUT/Data.\n\n"
            "With --predict --resume MODEL it only translates SOURCE (TARGET is not read).",
    config=CycleGANConfig, inputs="two_folders",
    plan=lazy(f"{_OPERATOR}:plan_cyclegan"), generate=lazy(f"{_OPERATOR}:translate_after_training"),
    predict=lazy(f"{_OPERATOR}:predict_cyclegan"), sampler=lazy(f"{_OPERATOR}:predict_cyclegan"),
    sample_options=CycleGANSampleOptions,
    sample_inputs=(ExtraInput("source", "The folder of source-domain images to translate."),),
    exporter=lazy("ganfactory.operators.cyclegan.onnx:export_cyclegan"),
    report=_report)
