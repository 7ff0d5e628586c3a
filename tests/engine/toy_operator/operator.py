"""The toy operator's parts: its plan (stages and trainable), generation, prediction and ONNX export."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import load_image_folder
from ganfactory.engine.checkpoint import (
    checkpoint_architecture,
    checkpoint_provenance,
    load_checkpoint,
    require_operator,
)
from ganfactory.engine.contract import RunEnv, Stage, TrainingPlan
from ganfactory.engine.loop import Schedule, Trainable
from ganfactory.operators.inputs import usable_files
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.manifest import ManifestWriter, class_annotation, make_entry, stable_id
from ganfactory.output.onnx import export_module

SIZE = 8


class MeanColour(torch.nn.Module):
    """One linear layer from a constant input to an RGB colour, drawn as a SIZE x SIZE image."""

    def __init__(self) -> None:
        super().__init__()
        self.colour = torch.nn.Linear(1, 3)

    def forward(self, ones: torch.Tensor) -> torch.Tensor:  # [B, 1] -> [B, 3, SIZE, SIZE] in [-1, 1]
        return torch.tanh(self.colour(ones))[:, :, None, None].expand(-1, 3, SIZE, SIZE)


@dataclass(frozen=True)
class ToyArchitecture:
    """What the toy's checkpoints record (engine.checkpoint.Architecture): the side of its images."""

    size: int = SIZE

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> ToyArchitecture | None:
        recorded = checkpoint_architecture(checkpoint)
        return None if recorded is None else cls(size=int(recorded["size"]))


class ToyTrainable(Trainable):
    """A Trainable (engine.loop): one step fits the model's colour to the data's mean colour."""

    unit = "step"

    def __init__(self, *, target: torch.Tensor, steps: int, sleep: float, start: MeanColour | None) -> None:
        self.model = MeanColour()
        if start is not None:
            self.model.load_state_dict(start.state_dict())
        self.target = target
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=0.05)
        self._total, self._steps, self.sleep = float(steps), 0, sleep

    @property
    def total(self) -> float:
        return self._total

    @property
    def done(self) -> float:
        return float(self._steps)

    @property
    def steps(self) -> int:
        return self._steps

    def train_step(self) -> dict[str, float]:
        time.sleep(self.sleep)
        noise = 0.01 * torch.randn(3)  # draws from the global RNG, which the engine checkpoints
        loss = ((self.model(torch.ones(1, 1))[0, :, 0, 0] - self.target - noise) ** 2).mean()
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        self._steps += 1
        return {"loss": float(loss)}

    def state_dict(self) -> dict[str, Any]:
        return {"operator": "toy", "model": self.model.state_dict(), "optimiser": self.optimiser.state_dict(),
                "steps": self._steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self._steps = int(state["steps"])


def plan(env: RunEnv) -> TrainingPlan:
    config = env.config
    data = env.inputs[0]
    files = usable_files(data, run=env.run, do_validation=config.do_validation, resolution=SIZE,
                         min_images=config.min_images)
    images = load_image_folder(data, resolution=SIZE, channels=3, mode="crop", files=files).images
    target = images.float().mean(dim=(0, 2, 3)) / 127.5 - 1
    schedule = Schedule(tick_units=config.tick_steps, keep_checkpoints=config.keep_checkpoints)

    def build(previous: list[ToyTrainable]) -> ToyTrainable:
        start = previous[-1].model if previous else None  # stage 2 reads stage 1's weights
        return ToyTrainable(target=target, steps=config.steps, sleep=config.step_sleep, start=start)

    names = ["stage1", "stage2"] if config.two_stage else [""]
    return TrainingPlan(stages=[Stage(name=name, build=build, schedule=schedule,
                                      architecture=lambda trainable: ToyArchitecture()) for name in names])


def _write(env: RunEnv, model: MeanColour, provenance: dict[str, str]) -> int:
    path = env.run.data_dir / f"mean.{env.config.image_format}"
    with torch.no_grad():
        save_image(to_uint8(model(torch.ones(1, 1)))[0], path, image_format=env.config.image_format)
    with ManifestWriter(env.run.manifest_path) as manifest:
        entry_id = stable_id("toy", path.relative_to(env.run.root))
        if entry_id not in manifest:
            manifest.append(make_entry(entry_id=entry_id, source=path.resolve(),
                                       annotations=[class_annotation("mean")], operator="toy", **provenance))
    return 1


def generate(env: RunEnv, trainables: list[ToyTrainable], provenance: dict[str, str]) -> int:
    return _write(env, trainables[-1].model, provenance)


def _model(state: dict[str, Any], path: Path) -> MeanColour:
    model = MeanColour()
    model.load_state_dict(require_operator(state, "toy", path)["model"])
    return model


def predict(env: RunEnv, model_path: Path) -> int:
    return _write(env, _model(load_checkpoint(model_path), model_path), checkpoint_provenance(model_path))


def export(state: dict[str, Any], path: Path) -> Path:
    return export_module(_model(state, path), (torch.ones(2, 1),), path, input_names=["ones"],
                         output_names=["image"], dynamic_axes={"ones": (0,)}, metadata={"operator": "toy"})
