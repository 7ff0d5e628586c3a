"""The engine keeps the checkpoint of the best metric as model/best.pt, beyond keep-N pruning, and resumes its
record."""

import json

import pytest
import torch

from ganfactory.engine.best import PrimaryMetric, read_best
from ganfactory.engine.checkpoint import list_checkpoints, resolve_checkpoint_path
from ganfactory.engine.loop import Schedule, train
from ganfactory.output.layout import RunFolder

from .test_loop import TinyRegression


class ScriptedMetric(TinyRegression):
    """TinyRegression with a metric hook whose values follow a script (lower is better unless told)."""

    def __init__(self, total_kimg: float, script: list[float], *, higher_is_better: bool = False) -> None:
        super().__init__(total_kimg)
        self.script, self.calls = script, 0
        self._primary = PrimaryMetric("metrics/score", higher_is_better=higher_is_better)

    @property
    def primary_metric(self) -> PrimaryMetric:
        return self._primary

    def tick_metrics(self) -> dict[str, float]:
        value = self.script[self.calls]
        self.calls += 1
        return {"metrics/score": value}


def test_best_checkpoint_survives_pruning_and_is_preferred(tmp_path):
    run = RunFolder(tmp_path).create()
    trainable = ScriptedMetric(0.04, [3.0, 1.0, 2.0, 5.0, float("nan")])  # 5 ticks of 8 images; best at tick 2
    train(trainable, run=run, schedule=Schedule(tick_units=0.008, keep_checkpoints=1, metrics_ticks=1),
          progress_bar=False)
    assert [p.name for p in list_checkpoints(run.model_dir)] == ["ckpt-000000005.pt"]  # keep-N pruned the rest
    record = read_best(run.model_dir)
    assert record["metric"] == "metrics/score" and record["value"] == 1.0 and record["step"] == 2
    assert record["higher_is_better"] is False
    best = torch.load(run.model_dir / "best.pt", weights_only=True)
    assert best["engine"]["steps"] == 2 and best["engine"]["best"] == 1.0
    lines = [json.loads(line) for line in (run.logs_dir / "stats.jsonl").read_text().splitlines()]
    assert [line["metrics/score"] for line in lines[:4]] == [3.0, 1.0, 2.0, 5.0]
    assert resolve_checkpoint_path(tmp_path, prefer="best") == run.model_dir / "best.pt"
    assert resolve_checkpoint_path(tmp_path).name == "ckpt-000000005.pt"


def test_resumed_run_remembers_the_best_value(tmp_path):
    run = RunFolder(tmp_path).create()
    train(ScriptedMetric(0.016, [1.0, 4.0]), run=run, schedule=Schedule(tick_units=0.008, metrics_ticks=1),
          progress_bar=False)
    # Extended run: 2.0 is worse than the 1.0 of the first part, so best.pt stays at step 1.
    train(ScriptedMetric(0.024, [2.0]), run=run, schedule=Schedule(tick_units=0.008, metrics_ticks=1),
          progress_bar=False)
    assert read_best(run.model_dir)["step"] == 1


def test_a_metric_that_is_better_when_higher_keeps_its_highest_value(tmp_path):
    run = RunFolder(tmp_path).create()
    trainable = ScriptedMetric(0.04, [0.2, 0.7, 0.5, float("inf"), 0.1], higher_is_better=True)  # best at tick 2
    train(trainable, run=run, schedule=Schedule(tick_units=0.008, keep_checkpoints=1, metrics_ticks=1),
          progress_bar=False)
    record = read_best(run.model_dir)
    assert record["value"] == 0.7 and record["step"] == 2 and record["higher_is_better"] is True
    assert torch.load(run.model_dir / "best.pt", weights_only=True)["engine"]["best"] == 0.7
    # resumed and extended: 0.6 is below the first part's 0.7, so best.pt stays; 0.9 beats it
    train(ScriptedMetric(0.056, [0.6, 0.9], higher_is_better=True), run=run,
          schedule=Schedule(tick_units=0.008, keep_checkpoints=1, metrics_ticks=1), progress_bar=False)
    assert read_best(run.model_dir)["value"] == 0.9 and read_best(run.model_dir)["step"] == 7


@pytest.mark.parametrize(("higher", "values", "expected"), [
    (False, (3.0, 2.0), True), (False, (2.0, 3.0), False), (True, (2.0, 3.0), True), (True, (3.0, 2.0), False),
    (True, (None, float("nan")), False)])
def test_improves_follows_the_declared_direction(higher, values, expected):
    best, value = values
    assert PrimaryMetric("m", higher_is_better=higher).improves(value, best) is expected
