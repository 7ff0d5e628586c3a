"""A GAN stability monitor: reads each tick's loss means, the ADA overfitting heuristic and the training metric,
and says in one sentence when the run looks diverged.

Signs watched (each must hold for `patience` consecutive ticks or evaluations, except non-finite losses):
- the discriminator loss collapsing toward 0 while the generator loss climbs: D wins outright and G's gradient
  carries no information (loss/D < `d_floor` and loss/G above `g_ceiling` or higher than at the previous tick);
- the ADA heuristic r_t = E[sign(D(real))] pinned near 1 (>= `rt_ceiling`) while the augmentation probability p
  no longer rises (ADA saturated at p = 1, or --aug fixed/noaug): D separates every real image and nothing
  counters it (Karras et al. 2020, sec. 3). While ADA is still raising p, a high r_t is ADA at work (tiny sets
  show it for the first ticks), not a sign of divergence;
- the primary training metric worse (in its declared direction) at each of `patience` evaluations in a row;
- both losses exploding (each above `loss_ceiling`, i.e. logits in the hundreds where a working logistic GAN keeps
  them within about +-10): the networks overshoot each other at every step;
- a non-finite loss (NaN or infinity): diverged at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ganfactory.engine.best import PrimaryMetric


@dataclass
class StabilityMonitor:
    patience: int = 3
    d_floor: float = 0.05
    g_ceiling: float = 5.0
    rt_ceiling: float = 0.98
    loss_ceiling: float = 100.0
    _streaks: dict[str, int] = field(default_factory=dict)
    _last_g: float | None = None
    _last_metric: float | None = None
    _last_p: float | None = None
    reasons: list[str] = field(default_factory=list)  # one sentence per sign seen so far, first first
    _kinds: set[str] = field(default_factory=set)  # the signs already flagged: each is reported once

    @property
    def diverged(self) -> bool:
        return bool(self.reasons)

    def _streak(self, name: str, holds: bool) -> int:
        self._streaks[name] = self._streaks.get(name, 0) + 1 if holds else 0
        return self._streaks[name]

    def _flag(self, kind: str, reason: str) -> list[str]:
        if kind in self._kinds:
            return []
        self._kinds.add(kind)
        self.reasons.append(reason)
        return [reason]

    def observe_tick(self, means: dict[str, float], *, where: str) -> list[str]:
        """means: the tick's mean "loss/D", "loss/G", "augment/rt", "augment/p" (absent keys are not judged);
        `where` names the moment ("at 1.2 kimg"). Returns the reasons newly raised (empty when none)."""
        d, g, rt = means.get("loss/D"), means.get("loss/G"), means.get("augment/rt")
        new: list[str] = []
        if any(v is not None and not math.isfinite(v) for v in (d, g)):
            new += self._flag("non_finite",
                              f"Training diverged {where}: a loss is not finite (D {d}, G {g}); lower --lr.")
        if d is not None and g is not None and math.isfinite(d) and math.isfinite(g):
            climbing = g > self.g_ceiling or (self._last_g is not None and g > self._last_g)
            if self._streak("d_collapse", d < self.d_floor and climbing) >= self.patience:
                new += self._flag("d_collapse", f"Training diverged {where}: the discriminator loss collapsed to "
                                  f"{d:.3g} while the generator loss climbed to {g:.3g} for {self.patience} ticks; "
                                  "lower --lr or "
                                  "raise --gamma.")
            self._last_g = g
            if self._streak("explosion", min(d, g) > self.loss_ceiling) >= self.patience:
                new += self._flag("explosion", f"Training diverged {where}: the losses exploded (D {d:.3g}, G "
                                  f"{g:.3g}) for {self.patience} ticks; lower --lr.")
        p = means.get("augment/p")
        stuck = p is None or (self._last_p is not None and p <= self._last_p + 1e-9)  # ADA not raising p
        self._last_p = p
        if rt is not None and self._streak("rt_pinned", rt >= self.rt_ceiling and stuck) >= self.patience:
            new += self._flag("rt_pinned", f"Training diverged {where}: the ADA overfitting heuristic r_t stayed at "
                              f"{rt:.3f} (>= {self.rt_ceiling}) for {self.patience} ticks while augmentation could not "
                              "rise; the discriminator memorised the data: add images, --mirror, or use --aug ada.")
        return new

    def observe_metric(self, metric: PrimaryMetric, value: float, *, where: str) -> list[str]:
        """One evaluation of the primary metric (worse in its own direction); the reasons newly raised."""
        name = metric.name
        worse = self._last_metric is not None and metric.worse(value, self._last_metric)
        self._last_metric = value
        if self._streak("metric", worse) >= self.patience:
            return self._flag("metric", f"Training diverged {where}: {name} worsened at {self.patience} evaluations "
                              f"in a row (now {value:.4g}); the best checkpoint is kept as model/best.pt.")
        return []
