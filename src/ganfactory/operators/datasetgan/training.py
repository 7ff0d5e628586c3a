"""Training the style interpreter as an engine Trainable (unit: epoch; no samples to draw).

Memory is flat in the number of annotated images: only their latents are kept, and the feature maps of
`window` images at a time (at their native sizes, fp16) are recomputed when training moves on to the next
images. An epoch visits every annotated image once, in a fresh order, for `steps_per_image` steps each;
every step draws `pixels_per_step` class-balanced pixels per member, computes their features from the maps
and updates all members at once. Early stop (the paper): after `min_epochs`, once every member has gone
`patience` steps without beating its best batch loss.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganfactory.engine.loop import EpochCounter
from ganfactory.operators.datasetgan.architecture import InterpreterArchitecture
from ganfactory.operators.datasetgan.features import feature_channels, pixel_features, synthesize_with_maps
from ganfactory.operators.datasetgan.hparams import InterpreterTraining
from ganfactory.operators.datasetgan.pixels import PixelIndex
from ganfactory.operators.stylegan.networks import Generator

MAP_DTYPE = torch.float16  # as the reference's feature store; halves the window's memory


class InterpreterTrainable(EpochCounter):

    def __init__(self, *, hparams: InterpreterTraining, G: Generator, ws: Tensor, masks: Tensor,
                 num_classes: int, annotations_sha256: str = "") -> None:
        """ws: [N, num_ws, w_dim] latents of the annotated images; masks: uint8 [N, R, R] class indices;
        annotations_sha256: what they hash to (annotations_digest), recorded in every checkpoint."""
        config = hparams  # `self.config`: the hyper-parameters (InterpreterTraining.from_config)
        self.config, self.G, self.ws, self.masks = config, G, ws, masks.to(ws.device)
        self.annotations_sha256 = annotations_sha256
        self.count = int(ws.shape[0])
        self.ensemble = InterpreterArchitecture(in_features=feature_channels(G), num_classes=num_classes,
                                                members=config.members).ensemble().to(ws.device)
        self.optimizer = torch.optim.Adam(self.ensemble.parameters(), lr=config.lr, foreach=True)
        self._steps = 0
        self.best = torch.full((config.members,), math.inf)
        self.stalled = torch.zeros(config.members, dtype=torch.long)
        self._window: tuple[int, ...] | None = None
        self._maps: list[Tensor] = []
        self._pixels: PixelIndex | None = None

    # --- progress ----------------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:  # type: ignore[override]  # EpochCounter's attribute, computed here
        return self.config.steps_per_image * self.count

    @property
    def total(self) -> float:
        return float(self.config.epochs)


    @property
    def stopped_early(self) -> bool:
        return self.done >= self.config.min_epochs and bool((self.stalled >= self.config.patience).all())

    # --- one step ----------------------------------------------------------------------------------
    def _current_window(self) -> tuple[int, ...]:
        """The annotated images whose maps this step reads: a deterministic function of the step count,
        so a resumed run recomputes exactly the window it stopped in."""
        epoch, position = divmod(self._steps, self.steps_per_epoch)
        order = torch.randperm(self.count, generator=torch.Generator().manual_seed(self.config.seed * 7919 + epoch))
        first = (position // self.config.steps_per_image) // self.config.window * self.config.window
        return tuple(int(i) for i in order[first:first + self.config.window])

    def _load_window(self) -> None:
        window = self._current_window()
        if window != self._window:
            self._maps = []  # free the previous maps before making the next
            index = torch.tensor(window, device=self.ws.device)
            _, self._maps = synthesize_with_maps(self.G, self.ws[index], dtype=MAP_DTYPE)
            self._pixels = PixelIndex.of(self.masks[index])
            self._window = window

    def train_step(self) -> dict[str, float]:
        self._load_window()
        assert self._pixels is not None
        members, per = self.config.members, self.config.pixels_per_step
        image, ys, xs = self._pixels.sample(members * per)
        window = torch.tensor(self._window, device=self.ws.device)
        labels = self.masks[window][image, ys, xs].long().view(members, per)
        features = pixel_features(self._maps, image=image, ys=ys, xs=xs, resolution=self._pixels.size)
        self.ensemble.train()
        logits = self.ensemble(features.view(members, per, -1))
        losses = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none").view(members, per).mean(1)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # members are independent: the sum gives each its own gradient
        self.optimizer.step()
        self._track(losses.detach())
        self._steps += 1
        accuracy = (logits.detach().argmax(-1) == labels).float().mean()
        return {"loss": float(losses.detach().mean()), "pixel_acc": float(accuracy)}

    def _track(self, losses: Tensor) -> None:
        better = losses < self.best
        self.best = torch.where(better, losses, self.best)
        self.stalled = torch.where(better, torch.zeros_like(self.stalled), self.stalled + 1)

    # --- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"operator": "datasetgan", "ensemble": self.ensemble.state_dict(),
                "optimizer": self.optimizer.state_dict(), "steps": self._steps, "best": self.best.clone(),
                "stalled": self.stalled.clone(), "config": self.config.to_json_dict(),
                "annotations_sha256": self.annotations_sha256}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ensemble.load_state_dict(state["ensemble"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._steps = int(state["steps"])
        self.best, self.stalled = state["best"].clone(), state["stalled"].clone()
        self._window = None

    def architecture(self) -> InterpreterArchitecture:
        """What the checkpoint records to rebuild the ensemble."""
        ensemble = self.ensemble
        return InterpreterArchitecture(in_features=ensemble.in_features, num_classes=ensemble.num_classes,
                                       members=ensemble.members)
