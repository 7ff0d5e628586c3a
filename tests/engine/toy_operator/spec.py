"""The registration target: `toy = "toy_operator.spec:TOY"` in the `ganfactory.operators` entry points."""

from __future__ import annotations

from pydantic import Field

from ganfactory.config import RunOptions
from ganfactory.engine.contract import OperatorSpec, RunResult, lazy


class ToyConfig(RunOptions):
    steps: int = Field(40, ge=1, description="Optimisation steps per stage.")
    tick_steps: int = Field(10, ge=1, description="Steps between ticks (console line, checkpoint).")
    two_stage: bool = Field(False, description="Train stage1, then stage2 from stage1's weights.")
    step_sleep: float = Field(0.0, ge=0, description="Seconds to sleep per step (lets tests stop a run).")
    min_images: int = Field(1, ge=1)


def _report(result: RunResult) -> list[str]:
    return [f"Wrote {result.images_written} images to {result.run.data_dir}", f"Checkpoint: {result.checkpoint}"]


TOY = OperatorSpec(
    name="toy", summary="Learn the mean colour of DATA and write it into OUT (a template operator).",
    config=ToyConfig, inputs="folder",
    plan=lazy("toy_operator.operator:plan"), generate=lazy("toy_operator.operator:generate"),
    predict=lazy("toy_operator.operator:predict"), exporter=lazy("toy_operator.operator:export"),
    report=_report)
