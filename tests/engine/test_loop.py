"""The shared loop with a tiny real model: ticks, checkpoints, stop and resume equal to an uninterrupted run."""

import json
import time
from pathlib import Path

import pytest
import torch

from ganfactory.engine.loop import EXIT_INTERRUPTED, Schedule, Trainable, TrainingInterrupted, train
from ganfactory.engine.signals import StopRequest
from ganfactory.output.layout import RunFolder


class TinyRegression(Trainable):
    """A real optimisation problem with random minibatches drawn from the global torch RNG."""

    unit = "kimg"

    def __init__(self, total_kimg: float, batch: int = 8) -> None:
        torch.manual_seed(0)
        self.model = torch.nn.Linear(4, 1)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        self.batch, self.images_seen, self._steps = batch, 0, 0
        self.total_kimg = total_kimg
        self.on_step = lambda steps: None

    @property
    def total(self) -> float:
        return self.total_kimg

    @property
    def done(self) -> float:
        return self.images_seen / 1000

    @property
    def steps(self) -> int:
        return self._steps

    def train_step(self) -> dict:
        x = torch.randn(self.batch, 4)
        loss = (self.model(x).squeeze(1) - x.sum(1)).pow(2).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.images_seen += self.batch
        self._steps += 1
        self.on_step(self._steps)
        return {"loss": loss.item()}

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.optimizer.state_dict(),
                "images_seen": self.images_seen, "steps": self._steps}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["opt"])
        self.images_seen, self._steps = state["images_seen"], state["steps"]

    def write_samples(self, path: Path) -> None:
        path.write_text("samples")


SCHEDULE = Schedule(tick_units=0.08, checkpoint_ticks=2)


def _run(root: Path, stop_at: int | None = None) -> TinyRegression:
    trainable = TinyRegression(total_kimg=0.4)
    stop = StopRequest()
    if stop_at is not None:
        trainable.on_step = lambda steps: stop.set("test") if steps == stop_at else None
    train(trainable, run=RunFolder(root).create(), schedule=SCHEDULE, stop=stop, progress_bar=False)
    return trainable


def test_loop_trains_logs_and_checkpoints(tmp_path):
    started = time.time()
    trainable = _run(tmp_path)
    assert trainable.steps == 50 and trainable.done == pytest.approx(0.4)
    lines = [json.loads(line) for line in (tmp_path / "logs" / "stats.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and lines[-1]["loss"] < lines[0]["loss"]
    clock = [line["time"] for line in lines]  # each tick's wall clock: the console's time axes
    assert started - 1 <= clock[0] and clock == sorted(clock) and clock[-1] <= time.time() + 1
    progress = json.loads((tmp_path / "logs" / "progress.json").read_text())
    assert progress["done"] == pytest.approx(0.4) and progress["total"] == 0.4
    assert (tmp_path / "model" / "latest").read_text().strip() == "ckpt-000000050.pt"


def test_stop_then_resume_equals_uninterrupted(tmp_path):
    reference = _run(tmp_path / "a")
    with pytest.raises(TrainingInterrupted) as info:
        _run(tmp_path / "b", stop_at=17)  # between checkpoints: the stop itself saves
    assert info.value.exit_code == EXIT_INTERRUPTED
    assert (tmp_path / "b" / "model" / "latest").read_text().strip() == "ckpt-000000017.pt"
    torch.manual_seed(1234)  # the resumed process starts with a different global RNG; the checkpoint restores it
    resumed = _run(tmp_path / "b")
    assert resumed.steps == reference.steps and resumed.images_seen == reference.images_seen
    for a, b in zip(reference.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_finished_run_resumes_to_nothing(tmp_path):
    _run(tmp_path)
    again = _run(tmp_path)
    assert again.steps == 50
