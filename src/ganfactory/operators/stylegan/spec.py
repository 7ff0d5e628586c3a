"""The StyleGAN2-ADA operator as the CLI, `export`, `generate` and the job queue see it (engine.contract), with
its extra commands `interpolate` and `project`.
Its parts are imported on first use, so listing the commands does not load torch."""

from __future__ import annotations

from typing import Any

from ganfactory.engine.contract import OperatorSpec, RunResult, lazy
from ganfactory.operators.stylegan.config import StyleGANConfig, StyleGANSampleOptions

_OPERATOR = "ganfactory.operators.stylegan.operator"


def is_legacy_stylegan(state: dict[str, Any]) -> bool:
    """Format-1 StyleGAN checkpoints from before the operator state named its operator."""
    return "G_ema" in state


def _report(result: RunResult) -> list[str]:
    return [f"Wrote {result.images_written} images to {result.run.data_dir}", f"Manifest: {result.run.manifest_path}",
            f"Checkpoint: {result.checkpoint}"]


STYLEGAN = OperatorSpec(
    name="stylegan",
    summary="Train StyleGAN2-ADA on DATA (one class, or one class per subfolder), then generate images into OUT.\n\n"
            "With --predict --resume MODEL it only generates (DATA is not read).",
    config=StyleGANConfig, inputs="folder",
    plan=lazy(f"{_OPERATOR}:plan_stylegan"), generate=lazy(f"{_OPERATOR}:generate_after_training"),
    predict=lazy(f"{_OPERATOR}:predict_stylegan"), sampler=lazy(f"{_OPERATOR}:predict_stylegan"),
    sample_options=StyleGANSampleOptions,
    commands=(lazy("ganfactory.operators.stylegan.cli:interpolate_command"),
              lazy("ganfactory.operators.stylegan.projection.cli:project_command")),
    exporter=lazy(f"{_OPERATOR}:export_checkpoint"), recognises=is_legacy_stylegan, report=_report)
