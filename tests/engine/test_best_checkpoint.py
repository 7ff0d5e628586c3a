"""The engine keeps the checkpoint of the best metric as model/best.pt, beyond keep-N pruning, and resumes its
record."""

import json

import torch

from ganfactory.engine.best import read_best
from ganfactory.engine.checkpoint import list_checkpoints, resolve_checkpoint_path
from ganfactory.engine.loop import Schedule, train
from ganfactory.output.layout import RunFolder

from .test_loop import TinyRegression


class ScriptedMetric(TinyRegression):
    """TinyRegression with a metric hook whose values follow a script (lower is better)."""

    primary_metric = "metrics/score"

    def __init__(self, total_kimg: float, script: list[float]) -> None:
        super().__init__(total_kimg)
        self.script, self.calls = script, 0

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
