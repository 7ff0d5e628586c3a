"""The training loop every operator shares: steps, ticks, samples, checkpoints, resume, graceful stop.

An operator hands the loop a `Trainable`: something that does one optimisation step, knows how far it
has come in its own unit (kimg for StyleGAN, epochs for CycleGAN) and can save and restore its whole
state. The loop owns everything around the steps. The protocol's optional hooks (early stop, progress samples,
per-tick health, alerts and metrics) have defaults that do nothing: a trainable subclasses `Trainable` and
overrides the ones it has. The metric hook's `primary_metric` is an engine.best.PrimaryMetric that says which way
is better; the loop keeps the best checkpoint (see engine.best).
A run may train in named stages: each stage's checkpoints live in model/<stage>/.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from ganfactory.engine.best import PrimaryMetric, keep_best, primary_metric_of
from ganfactory.engine.checkpoint import load_latest, save_checkpoint
from ganfactory.engine.distributed import DistributedContext, any_rank
from ganfactory.engine.rng import capture_rng_state, fork_global_rng_for_rank, restore_rng_state
from ganfactory.engine.signals import EXIT_INTERRUPTED, RunInterrupted, StopRequest  # noqa: F401 (EXIT_INTERRUPTED re-exported)
from ganfactory.engine.stats import RunningMeans, StatsLogger
from ganfactory.errors import CheckpointError
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import cited_checkpoints

log = logging.getLogger(__name__)

class TrainingInterrupted(RunInterrupted):
    """Training stopped on request after saving a checkpoint (exit 75)."""


class Trainable(Protocol):
    """What the loop trains. The first six members are required; the hooks below them have defaults (subclass
    `Trainable` to inherit them): the loop calls each one unconditionally."""

    unit: str  # what `done` and `total` count: "kimg", "epoch", "step"

    @property
    def total(self) -> float:
        """Where training ends, in `unit`."""
        ...

    @property
    def done(self) -> float:
        """How far training has come, in `unit` (restored by `load_state_dict`)."""
        ...

    @property
    def steps(self) -> int:
        """Optimisation steps taken so far (checkpoint names and step-wise logging count these)."""
        ...

    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns scalars to average over the tick (losses, learning rate)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue bit for bit (weights, optimisers, its own RNGs, counters);
        the loop adds the global RNG and its own counters beside it."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned. Raises RuntimeError, KeyError, ValueError or TypeError when the
        state does not fit these networks (the loop turns that into one sentence)."""
        ...

    # --- optional hooks (defaults: nothing to do) -----------------------------------------------------
    @property
    def stopped_early(self) -> bool:
        """True once the trainable decides to stop before `total` (early stopping, divergence); default False."""
        return False

    @property
    def primary_metric(self) -> PrimaryMetric | str | None:
        """The `tick_metrics` metric whose best value keeps a best checkpoint: an engine.best.PrimaryMetric (name
        and direction), or a plain name (lower is better); default None."""
        return None

    def write_samples(self, path: Path) -> None:
        """Write a progress image to `path` (a PNG; called at the start and each tick); default: none to draw."""
        return None

    def tick_health(self) -> dict[str, float]:
        """Health indicators for this tick's stats line and progress.json (e.g. sample diversity); default {}."""
        return {}

    def tick_alerts(self) -> list[str]:
        """Warning sentences raised this tick (logged and shown by the console); default []."""
        return []

    def tick_metrics(self) -> dict[str, float]:
        """Quality metrics, lower is better (called every `Schedule.metrics_ticks` ticks and at the end);
        default {}."""
        return {}


class EpochCounter(Trainable):
    """`unit`, `done` and `steps` of a trainable counted in epochs: the class sets `self._steps` (optimiser steps
    taken) and `steps_per_epoch`; it still defines `total` itself."""

    unit = "epoch"
    _steps: int
    steps_per_epoch: int

    @property
    def done(self) -> float:
        return self._steps / self.steps_per_epoch

    @property
    def steps(self) -> int:
        return self._steps


def is_finished(trainable: Trainable) -> bool:
    """Reached its total, or decided to stop early."""
    return trainable.done >= trainable.total or trainable.stopped_early


@dataclass(frozen=True)
class Schedule:
    tick_units: float  # a tick every this many units (kimg or epochs): stats line, samples
    checkpoint_ticks: int = 1  # a checkpoint every this many ticks (and always at the end or on stop)
    log_steps: int = 0  # TensorBoard scalars every this many steps (0: at ticks only)
    keep_checkpoints: int = 3
    metrics_ticks: int = 0  # call the trainable's metric hook every this many ticks (0: never)


class TrainingLoop:
    """Runs a Trainable to its total, resuming from the run folder's latest checkpoint when there is one."""

    def __init__(self, trainable: Trainable, *, run: RunFolder, schedule: Schedule,
                 context: DistributedContext = DistributedContext(), stop: StopRequest | None = None,
                 progress_bar: bool = True, stage: str = "", meta: dict[str, Any] | None = None,
                 deadline: float | None = None) -> None:
        self.trainable = trainable
        self.deadline = deadline  # time.monotonic() at which training stops, saves and lets the run generate
        self.budget_reached = False
        self.run = run
        self.stage = stage  # "" for a single-stage operator: checkpoints go straight into model/
        self.model_dir = run.model_dir / stage if stage else run.model_dir
        self.meta = {**(meta or {}), "stage": stage}  # what the checkpoint says about itself (operator, format)
        self.schedule = schedule
        self.context = context
        self.stop = stop or StopRequest()
        self.stats = StatsLogger(run.logs_dir, enabled=context.is_main)
        self.means = RunningMeans()
        self.tick = 0
        self.best: float | None = None  # the best primary metric so far (in the metric's own direction)
        self.next_tick_at = schedule.tick_units
        self.progress_bar = progress_bar and context.is_main

    # --- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"operator": self.trainable.state_dict(),
                "engine": {"tick": self.tick, "next_tick_at": self.next_tick_at, "steps": self.trainable.steps,
                           "best": self.best},
                "rng": capture_rng_state(), "meta": self.meta}

    def resume(self, initial_state: dict[str, Any] | None = None) -> bool:
        """Continue from the run folder's latest good checkpoint, else from `initial_state` (a checkpoint of
        another folder, `--resume`); True when the run continues rather than starts."""
        found = load_latest(self.model_dir)
        if found is None and initial_state is None:
            self._fork_rng_for_rank()
            return False
        state, name = (found[0], found[1].name) if found else (initial_state, "the given checkpoint")
        assert state is not None  # one of the two is present (checked above)
        try:
            self.trainable.load_state_dict(state["operator"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:  # torch: "Error(s) in loading state_dict"
            where = found[1] if found else "The --resume checkpoint"
            raise CheckpointError(f"{where} does not fit this run's networks ({str(exc).splitlines()[0][:160]}); "
                                  "use the parameters it was trained with (its run's config.json), or a new "
                                  "OUT.") from exc
        self.tick = int(state["engine"]["tick"])
        self.next_tick_at = float(state["engine"]["next_tick_at"])
        best = state["engine"].get("best")  # absent in checkpoints written before metrics existed
        self.best = float(best) if best is not None else None
        restore_rng_state(state["rng"])
        self._fork_rng_for_rank()
        log.info("Resumed from %s at %.3f of %s %s.", name, self.trainable.done, self.trainable.total,
                 self.trainable.unit)
        return True

    def _fork_rng_for_rank(self) -> None:
        """After a resume every rank holds rank 0's global RNG state from the checkpoint (on a fresh start,
        perhaps torch's default seed); without a stream per rank, all ranks would draw the same noise."""
        if self.context.enabled:
            fork_global_rng_for_rank(self.context.rank)

    def save(self) -> Path | None:
        """Write a checkpoint (main process only); its path, None on the other ranks. Checkpoints the
        manifest cites are pinned: keep-N never deletes the model an image line names."""
        if not self.context.is_main:
            return None
        return save_checkpoint(self.state_dict(), self.model_dir, step=self.trainable.steps,
                               keep=self.schedule.keep_checkpoints, run_model_dir=self.run.model_dir,
                               pinned=cited_checkpoints(self.run.manifest_path))

    # --- loop --------------------------------------------------------------------------------------
    def run_to_end(self) -> None:
        """Train until the total (or the time budget: then save and return with `budget_reached`); on a stop
        request save and raise TrainingInterrupted."""
        trainable = self.trainable
        if self._already_finished():
            self.stats.close()
            return
        if trainable.done == 0 and self.context.is_main:
            trainable.write_samples(self.run.samples_dir / f"{self._sample_prefix}init.png")
        bar = tqdm(total=trainable.total, initial=trainable.done, unit=trainable.unit, disable=not self.progress_bar,
                   dynamic_ncols=True,
                   bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} {unit} [{elapsed}<{remaining}]{postfix}")
        tick_start, tick_done = time.monotonic(), trainable.done
        try:
            while not is_finished(trainable):
                if any_rank(self.stop.is_set(), self.context):
                    self.save()
                    raise TrainingInterrupted(f"Training stopped ({self.stop.reason or 'requested'}) after saving a "
                                              f"checkpoint in {self.model_dir}; run the same command to resume.")
                before = trainable.done
                values = trainable.train_step()
                self.means.add(values)
                bar.update(trainable.done - before)
                self._maybe_log_step(values)
                if self.deadline is not None and any_rank(time.monotonic() >= self.deadline, self.context):
                    self.budget_reached = True  # every rank agrees, so all save and leave at the same step
                if trainable.done >= self.next_tick_at or is_finished(trainable) or self.budget_reached:
                    tick_start, tick_done = self._end_tick(bar, tick_start, tick_done)
                if self.budget_reached:
                    log.info("Time budget reached at %s %.2f of %g: checkpoint saved. Run the same command to "
                             "train on.", trainable.unit, trainable.done, trainable.total)
                    break
        finally:
            bar.close()
        self.stats.close()

    def _already_finished(self) -> bool:
        """A resumed run that needs no step. Past its total (the same command with a smaller --total-kimg,
        --max-epoch or --stage*-epochs) it says so in one line; the run then generates from its checkpoint."""
        trainable = self.trainable
        if not is_finished(trainable):
            return False
        if trainable.done > trainable.total and self.context.is_main:
            stage = f" (stage {self.stage})" if self.stage else ""
            log.warning("The run in %s%s is already at %s %.4g, past the %g asked for; no training, it is used as "
                        "it is (a new OUT trains to the smaller total).", self.run.root, stage, trainable.unit,
                        trainable.done, trainable.total)
        return True

    @property
    def _sample_prefix(self) -> str:
        return f"fakes_{self.stage}_" if self.stage else "fakes_"

    def progress(self, *, sec_per_unit: float | None, phase: str, health: dict[str, float] | None = None,
                 alerts: list[str] | None = None) -> None:
        """progress.json for `jobs list` and the console: unit, done, total, speed, phase, stage, health, alerts."""
        trainable = self.trainable
        self.stats.progress(unit=trainable.unit, done=trainable.done, total=trainable.total,
                            sec_per_unit=sec_per_unit, phase=phase, stage=self.stage, health=health, alerts=alerts)

    def _maybe_log_step(self, values: dict[str, float]) -> None:
        every = self.schedule.log_steps
        if every and self.trainable.steps % every == 0 and self.context.is_main:
            self.stats.scalars({f"step/{k}": v for k, v in values.items()}, step=self.trainable.steps)

    def _end_tick(self, bar: tqdm, tick_start: float, tick_done: float) -> tuple[float, float]:
        trainable, now = self.trainable, time.monotonic()
        sec_per_unit = (now - tick_start) / max(trainable.done - tick_done, 1e-9)
        means = self.means.means()
        self.means.reset()
        self.tick += 1
        while self.next_tick_at <= trainable.done:
            self.next_tick_at += self.schedule.tick_units
        finished = is_finished(trainable)
        # Optional per-tick hooks: health indicators (StyleGAN: sample diversity), metrics, alerts (divergence).
        health = trainable.tick_health() if self.context.is_main else {}
        metrics = self._tick_metrics(finished)
        alerts = list(trainable.tick_alerts()) if self.context.is_main else []
        # time: wall clock (seconds since the epoch), the console's wall-time axis
        record: dict[str, Any] = {
            "tick": self.tick, trainable.unit: round(trainable.done, 4), "steps": trainable.steps,
            "time": round(time.time(), 3), f"sec_per_{trainable.unit}": round(sec_per_unit, 3),
            **{k: round(v, 6) for k, v in means.items()}, **{k: round(v, 4) for k, v in health.items()},
            **{k: round(v, 6) for k, v in metrics.items()}}
        if alerts:
            record["alerts"] = alerts
        if self.stage:
            record = {"stage": self.stage, **record}
        bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)
        if self.context.is_main:
            self.stats.tick(record)
            self.stats.scalars({**means, **health, **metrics}, step=trainable.steps)
            trainable.write_samples(self.run.samples_dir / f"{self._sample_prefix}{trainable.steps:09d}.png")
            self.progress(sec_per_unit=sec_per_unit, phase="training", health={**health, **metrics}, alerts=alerts)
            log.info("%s", self._tick_line({**means, **health, **metrics}, sec_per_unit))
            for alert in alerts:
                log.warning("%s", alert)
        improved = self._improves_best(metrics)
        if finished or self.budget_reached or self.tick % self.schedule.checkpoint_ticks == 0 or improved:
            path = self.save()
            if improved and path is not None:
                primary = primary_metric_of(trainable)
                assert primary is not None  # only a declared metric improves
                keep_best(path, self.model_dir, {"metric": primary.name, "higher_is_better": primary.higher_is_better,
                                                 "value": self.best,
                                                 "step": trainable.steps, "done": round(trainable.done, 4),
                                                 "unit": trainable.unit, "tick": self.tick})
        return now, trainable.done

    def _tick_metrics(self, finished: bool) -> dict[str, float]:
        """The trainable's metrics every `metrics_ticks` ticks and at the end (main process; {} otherwise)."""
        every, trainable = self.schedule.metrics_ticks, self.trainable
        if not (every and self.context.is_main):
            return {}
        if self.tick % every != 0 and not finished:
            return {}
        return dict(trainable.tick_metrics())

    def _improves_best(self, metrics: dict[str, float]) -> bool:
        """Whether the primary metric beat the best so far (and if so, remember it)."""
        primary = primary_metric_of(self.trainable)
        if primary is None or primary.name not in metrics or not primary.improves(metrics[primary.name], self.best):
            return False
        self.best = float(metrics[primary.name])
        return True

    def _tick_line(self, means: dict[str, float], sec_per_unit: float) -> str:
        """One console line per tick: where the run is, its losses, its speed and the time left."""
        trainable = self.trainable
        eta = max(trainable.total - trainable.done, 0.0) * sec_per_unit
        losses = " ".join(f"{name}={value:.4g}" for name, value in means.items())
        stage = f"{self.stage} " if self.stage else ""
        return (f"{stage}tick {self.tick}: {trainable.unit} {trainable.done:.2f}/{trainable.total:g} {losses} "
                f"{sec_per_unit:.2f} s/{trainable.unit} ETA {_duration(eta)}")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def train(trainable: Trainable, *, run: RunFolder, schedule: Schedule,
          context: DistributedContext = DistributedContext(), stop: StopRequest | None = None,
          progress_bar: bool = True, initial_state: dict[str, Any] | None = None, stage: str = "",
          meta: dict[str, Any] | None = None, deadline: float | None = None) -> TrainingLoop:
    """Resume (the stage's latest checkpoint in the run folder, else `initial_state`), then train to the total
    (or an early stop), handling signals."""
    stop = stop or StopRequest()
    loop = TrainingLoop(trainable, run=run, schedule=schedule, context=context, stop=stop, progress_bar=progress_bar,
                        stage=stage, meta=meta, deadline=deadline)
    loop.resume(initial_state)
    with stop:
        loop.run_to_end()
    return loop
