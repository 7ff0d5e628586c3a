"""Metrics during StyleGAN training (--metrics kid with a tiny TorchScript feature network), the best checkpoint
kept through keep-N pruning and used for generation, and the stability monitor on a run forced to diverge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganfactory.engine.best import PrimaryMetric
from ganfactory.engine.checkpoint import file_sha256, list_checkpoints
from ganfactory.metrics.stability import StabilityMonitor

from .conftest import manifest_lines, train


class PooledFeatures(torch.nn.Module):
    """A random-weight feature net that pools first, so the 299 px input costs almost nothing on the CPU."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(8), torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(),
                                        torch.nn.Flatten(), torch.nn.Linear(16 * 36, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.fixture(scope="module")
def tiny_features(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("features") / "pooled.pt"
    torch.jit.save(torch.jit.script(PooledFeatures().eval()), str(path))
    return path


def _stats(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "logs" / "stats.jsonl").read_text().splitlines()]


def test_kid_during_training_keeps_a_best_checkpoint_beyond_pruning(two_classes, tiny_features, tmp_path):
    out = tmp_path / "run"
    train(two_classes, out, metrics="kid,fid", metrics_ticks=1, metrics_images=16, features=str(tiny_features),
          keep_checkpoints=1)
    ticks = _stats(out)
    assert len(ticks) == 3 and all("metrics/kid" in t and "metrics/fid" in t for t in ticks)
    model = out / "model"
    assert len(list_checkpoints(model)) == 1  # keep-N pruned every other numbered checkpoint
    best = json.loads((model / "best.json").read_text())
    kids = [t["metrics/kid"] for t in ticks]
    assert best["metric"] == "metrics/kid" and best["value"] == pytest.approx(min(kids), abs=1e-6)
    assert best["step"] == ticks[kids.index(min(kids))]["steps"]
    state = torch.load(model / "best.pt", map_location="cpu", weights_only=True)
    assert state["operator"]["steps"] == best["step"]
    config = json.loads((out / "config.json").read_text())
    assert config["resolved"]["metrics_network"]["name"] == "pooled.pt"
    progress = json.loads((out / "logs" / "progress.json").read_text())
    assert "metrics/kid" in progress["health"] and isinstance(progress["alerts"], list)
    # Generation used the best checkpoint (the default --use-checkpoint best)
    lines = manifest_lines(out)
    assert lines and all(line["checkpoint"] == "best.pt" for line in lines)
    assert {line["checkpoint_sha256"] for line in lines} == {file_sha256(model / "best.pt")}


def test_monitor_flags_collapse_pinned_rt_and_a_worsening_metric():
    monitor = StabilityMonitor(patience=2)
    assert monitor.observe_tick({"loss/D": 0.5, "loss/G": 1.0, "augment/rt": 0.5}, where="t1") == []
    assert monitor.observe_tick({"loss/D": 0.01, "loss/G": 6.0, "augment/rt": 0.99}, where="t2") == []
    flagged = monitor.observe_tick({"loss/D": 0.005, "loss/G": 8.0, "augment/rt": 0.99}, where="t3")
    assert len(flagged) == 2 and "discriminator loss collapsed" in flagged[0] and "r_t" in flagged[1]
    healthy = StabilityMonitor(patience=2)
    kid, accuracy = PrimaryMetric("metrics/kid"), PrimaryMetric("metrics/accuracy", higher_is_better=True)
    assert [healthy.observe_metric(kid, v, where="") for v in (0.3, 0.2, 0.25, 0.1)] == [[], [], [], []]
    assert not healthy.diverged
    worsening = StabilityMonitor(patience=2)
    assert [len(worsening.observe_metric(kid, v, where="")) for v in (0.1, 0.2, 0.3)] == [0, 0, 1]
    rising = StabilityMonitor(patience=2)  # a rising accuracy is progress, a falling one a worsening
    assert [len(rising.observe_metric(accuracy, v, where="")) for v in (0.1, 0.2, 0.3)] == [0, 0, 0]
    assert [len(rising.observe_metric(accuracy, v, where="")) for v in (0.2, 0.1)] == [0, 1]
    assert monitor.observe_tick({"loss/D": 0.001, "loss/G": 9.0, "augment/rt": 1.0}, where="t4") == []  # once each
    adapting = StabilityMonitor(patience=2)  # r_t at 1 while ADA keeps raising p: ADA at work, not divergence
    assert not any(adapting.observe_tick({"augment/rt": 1.0, "augment/p": 0.1 * k}, where="") for k in range(5))
    saturated = StabilityMonitor(patience=2)
    assert [len(saturated.observe_tick({"augment/rt": 1.0, "augment/p": 1.0}, where="")) for _ in range(3)] == [0, 0, 1]
    assert StabilityMonitor().observe_tick({"loss/D": float("nan"), "loss/G": 1.0}, where="t") != []


def test_learning_rate_far_too_high_is_flagged_and_stops_early(two_classes, tmp_path):
    diverging = dict(lr=0.25, total_kimg=0.2, tick_kimg=0.02, divergence_patience=2)  # 100x the preset's 0.0025
    flagged = tmp_path / "flagged"
    train(two_classes, flagged, **diverging)
    ticks = _stats(flagged)
    assert len(ticks) == 10 and any(t.get("alerts") for t in ticks)  # flagged, but trains on without the flag
    alerts = json.loads((flagged / "logs" / "progress.json").read_text())["alerts"]
    diverged = [a for a in alerts if "diverged" in a]  # the collapse watch may flag the wrecked samples too
    assert diverged and all("diverged" in a or "collapse" in a or "cluster" in a or "same image" in a for a in alerts)
    assert len(diverged) == len({a.split(":")[1] for a in diverged})  # each sign reported once, not every tick
    stopped = tmp_path / "stopped"
    result = train(two_classes, stopped, stop_on_divergence=True, **diverging)
    stopped_ticks = _stats(stopped)
    assert len(stopped_ticks) < 10 and result.kimg < 0.2
    assert any("Stopping early" in a for a in stopped_ticks[-1]["alerts"])
    assert result.images_written == 10  # the run still generates after stopping


def test_a_healthy_tiny_run_is_not_flagged(two_classes, tmp_path):
    out = tmp_path / "healthy"
    train(two_classes, out, total_kimg=0.2, tick_kimg=0.02, divergence_patience=2, stop_on_divergence=True)
    assert len(_stats(out)) == 10 and not any(t.get("alerts") for t in _stats(out))
