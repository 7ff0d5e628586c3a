"""The DatasetGAN operator as ganfactory sees it (engine.contract); its command is a group of steps
(sample, train, generate), made by datasetgan.cli."""

from __future__ import annotations

from typing import Any

from ganfactory.engine.contract import OperatorSpec, RunResult, lazy
from ganfactory.operators.datasetgan.config import DatasetGANConfig, DatasetGANSampleOptions

_OPERATOR = "ganfactory.operators.datasetgan.operator"


def _report(result: RunResult) -> list[str]:
    manifest = result.run.manifest_path
    listed = sum(1 for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()) \
        if manifest.is_file() else 0
    return [f"Interpreter: {result.checkpoint}", f"Wrote {result.images_written} new image + mask pairs to "
            f"{result.run.data_dir}", f"Manifest: {manifest} ({listed} pairs)"]


def _command(spec: OperatorSpec) -> Any:
    from ganfactory.operators.datasetgan.cli import datasetgan_group

    return datasetgan_group(spec)


DATASETGAN = OperatorSpec(
    name="datasetgan",
    summary="DatasetGAN: image + segmentation-mask pairs from a few annotated StyleGAN samples.",
    config=DatasetGANConfig, inputs="run",
    plan=lazy(f"{_OPERATOR}:plan_datasetgan"), generate=lazy(f"{_OPERATOR}:generate_after_training"),
    sampler=lazy(f"{_OPERATOR}:generate_from_checkpoint"), sample_options=DatasetGANSampleOptions, report=_report,
    command=_command)
