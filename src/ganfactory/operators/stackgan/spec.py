"""The StackGAN operator as the CLI, `export`, `generate` and the job queue see it (engine.contract), with its
extra command `stackgan-prepare`.
Its parts are imported on first use, so listing the commands does not load torch."""

from __future__ import annotations

from ganfactory.engine.contract import ExtraInput, OperatorSpec, RunResult, lazy
from ganfactory.operators.stackgan.config import StackGANConfig, StackGANSampleOptions

_OPERATOR = "ganfactory.operators.stackgan.operator"


def _report(result: RunResult) -> list[str]:
    return [f"Wrote {result.images_written} images to {result.run.data_dir}", f"Manifest: {result.run.manifest_path}",
            f"Checkpoint: {result.checkpoint}"]


STACKGAN = OperatorSpec(
    name="stackgan",
    summary="Train StackGAN (text to image, two stages) on DATA prepared by 'ganfactory stackgan-prepare', then "
            "generate from --captions FILE or the test split's captions.\n\n"
            "With --predict --resume MODEL it only generates.",
    config=StackGANConfig, inputs="folder",
    plan=lazy(f"{_OPERATOR}:plan_stackgan"), generate=lazy(f"{_OPERATOR}:generate_after_training"),
    predict=lazy(f"{_OPERATOR}:predict_stackgan"), sampler=lazy(f"{_OPERATOR}:predict_stackgan"),
    sample_options=StackGANSampleOptions,
    sample_inputs=(ExtraInput("data", "A folder prepared by 'ganfactory stackgan-prepare': generate from its test "
                                      "split's captions (instead of --captions FILE).", required=False),),
    exporter=lazy("ganfactory.operators.stackgan.onnx:export_stackgan"), report=_report,
    commands=(lazy("ganfactory.operators.stackgan.cli:stackgan_prepare"),))
