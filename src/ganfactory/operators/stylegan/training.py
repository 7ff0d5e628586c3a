"""The StyleGAN2-ADA training step: G main + lazy path length, D main + lazy R1, EMA, ADA p updates.

Phases follow Karras et al. 2020: the generator's path-length penalty every `pl_interval` (4)
minibatches and R1 on reals every `r1_interval` (16), each scaled by its interval; Adam's lr and
betas scaled by c = interval / (interval + 1).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import ImageFolderData
from ganfactory.engine.best import PrimaryMetric
from ganfactory.engine.distributed import (
    DistributedContext,
    average_gradients,
    average_tensors,
    broadcast_module,
    gather_cat,
    local_batch_size,
)
from ganfactory.engine.loop import Trainable
from ganfactory.engine.precision import Precision
from ganfactory.engine.rng import fork_generator_for_rank
from ganfactory.engine.stats import RunningMeans
from ganfactory.metrics.collapse import CollapseWatch, RealSpread
from ganfactory.metrics.stability import StabilityMonitor
from ganfactory.nn.augment import AdaController, AdaptiveAugment
from ganfactory.nn.diffaugment import diff_augment
from ganfactory.operators.stylegan import loss as losses
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import generate_grid, grid_columns, synthesize
from ganfactory.operators.stylegan.presets import (
    StyleGANPreset,
    build_discriminator,
    build_generator,
    ema_beta,
    transition_weight,
)
from ganfactory.operators.stylegan.quality import TrainingMetrics
from ganfactory.output.images import save_grid

log = logging.getLogger(__name__)

def load_matching(module: torch.nn.Module, source: dict[str, torch.Tensor], *, label: str) -> None:
    own = module.state_dict()
    fitting = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(fitting, strict=False)
    log.info("%s: loaded %d of %d tensors from the source checkpoint.", label, len(fitting), len(own))


def _lazy_adam(params: Any, *, preset: StyleGANPreset, lr: float, interval: int | None) -> torch.optim.Adam:
    lr_scaled, betas = losses.lazy_reg_adam_params(lr, preset.betas, interval) if interval else (lr, preset.betas)
    return torch.optim.Adam(params, lr=lr_scaled, betas=betas, eps=preset.eps)


class StyleGANTrainable(Trainable):
    """Everything one StyleGAN2-ADA run trains and counts; the engine's loop drives it."""

    unit = "kimg"

    def __init__(self, *, hparams: StyleGANTraining, preset: StyleGANPreset, data: ImageFolderData,
                 device: torch.device, precision: Precision,
                 context: DistributedContext = DistributedContext()) -> None:
        config = hparams  # `self.config`: the hyper-parameters, not the run's options (StyleGANTraining.from_config)
        self.config, self.preset, self.device, self.precision, self.context = config, preset, device, precision, context
        self.class_names = list(data.class_names)
        self.num_classes = len(self.class_names) if data.conditional else 0
        self.images = data.images.to(device)  # uint8, decoded once
        self.labels = data.labels.to(device)
        self._labels_cpu = data.labels.cpu()
        channels = int(data.images.shape[1])
        self.G = build_generator(preset, img_channels=channels, num_classes=self.num_classes).to(device)
        self.D = build_discriminator(preset, img_channels=channels, num_classes=self.num_classes).to(device)
        broadcast_module(self.G, context)
        broadcast_module(self.D, context)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        lr = config.lr or preset.lr
        self.opt_G = _lazy_adam(self.G.parameters(), preset=preset, lr=lr,
                                interval=preset.pl_interval if preset.pl_weight > 0 else None)
        self.opt_D = _lazy_adam(self.D.parameters(), preset=preset, lr=lr,
                                interval=preset.r1_interval if preset.gamma > 0 else None)
        self.augment = AdaptiveAugment(initial_p=config.augment_p).to(device)
        self.ada = AdaController(augment=self.augment, batch_size=config.batch_size, target=config.target,
                                 interval=preset.ada_interval, ada_kimg=config.ada_kimg or preset.ada_kimg,
                                 mode=config.aug)
        self.lecam = losses.LeCamAnchors()
        self.scaler = precision.grad_scaler()
        # Two generators of randomness, both saved: data picks on the CPU, latents/mixing/augment on the device.
        self.data_rng = torch.Generator(device="cpu").manual_seed(config.seed * 1009 + context.rank)
        self.noise_rng = torch.Generator(device=device).manual_seed(config.seed * 2003 + context.rank)
        self.pl_mean = torch.zeros([], device=device)
        self.images_seen, self._steps = 0, 0
        self.data_fingerprint = ""  # set by the operator; tells a resumed run from transfer learning
        self.local_batch = local_batch_size(config.batch_size, context)
        self._watch: CollapseWatch | None = None  # compares with the real images, measured at the first tick
        self.metrics: TrainingMetrics | None = None  # set by the operator for --metrics
        self.monitor = StabilityMonitor(patience=config.divergence_patience)
        self._tick_means = RunningMeans()  # the monitor's view of this tick's losses
        self._pending_alerts: list[str] = []  # divergence: may stop the run
        self._health_alerts: list[str] = []  # collapse watch: reported, never stops the run
        self._stopped_early = False  # --stop-on-divergence after the monitor flagged the run

    # --- counters (the engine reads these) ---------------------------------------------------------
    @property
    def total(self) -> float:
        return float(self.config.total_kimg)

    @property
    def done(self) -> float:
        return self.images_seen / 1000

    @property
    def stopped_early(self) -> bool:
        """--stop-on-divergence after the stability monitor flagged the run."""
        return self._stopped_early

    @property
    def steps(self) -> int:
        return self._steps

    # --- data --------------------------------------------------------------------------------------
    @property
    def _mbstd_groups(self) -> int | None:
        """Number of minibatch-std groups in a local batch when batches are drawn class-grouped, else None.

        The discriminator's minibatch std compares the samples of a group (sample n is in group n % groups). With
        mixed classes in a group it cannot see a generator that makes one image per class: the group is varied
        because its classes differ. Class-grouped batches give every group one class, so D sees the variety
        within a class, for real and generated images alike (issue 14).
        """
        mbstd = self.D.epilogue.mbstd
        if not (self.num_classes and self.config.class_grouped_mbstd and mbstd is not None):
            return None
        return self.local_batch // mbstd.group_size_for(self.local_batch)

    def _group_labels(self, count: int, groups: int) -> torch.Tensor:
        """Labels [count] with one class per minibatch-std group (position n has group n % groups); the groups'
        classes follow the training set's class frequencies."""
        pick = torch.randint(len(self.labels), (groups,), generator=self.data_rng)
        return self.labels[pick.to(self.device)].repeat(count // groups)

    def _real_index(self) -> torch.Tensor:
        groups = self._mbstd_groups
        if groups is None:
            return torch.randint(len(self.images), (self.local_batch,), generator=self.data_rng)
        labels = self._group_labels(self.local_batch, groups).cpu()
        index = torch.empty(self.local_batch, dtype=torch.long)
        for label in labels[:groups].unique().tolist():
            members = torch.nonzero(self._labels_cpu == label)[:, 0]
            slots = torch.nonzero(labels == label)[:, 0]
            index[slots] = members[torch.randint(len(members), (len(slots),), generator=self.data_rng)]
        return index

    def _real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = self._real_index()
        images = self.images[index.to(self.device)].float() / 127.5 - 1
        if self.config.mirror:  # --mirror doubles the data with x-flips, as in the paper
            flip = (torch.rand(self.local_batch, generator=self.data_rng) < 0.5).to(self.device)
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        labels = self.labels[index.to(self.device)] if self.num_classes else None
        return images.contiguous(memory_format=torch.channels_last), labels

    def _fake_inputs(self, count: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(count, self.G.z_dim, generator=self.noise_rng, device=self.device)
        if not self.num_classes:
            return z, None
        # Class labels for fakes follow the training set's class frequencies (class-grouped: see _mbstd_groups).
        groups = self._mbstd_groups
        if groups is not None and count == self.local_batch:
            return z, self._group_labels(count, groups)
        pick = torch.randint(len(self.labels), (count,), generator=self.data_rng)
        return z, self.labels[pick.to(self.device)]

    # --- phases ------------------------------------------------------------------------------------
    def _step(self, loss: torch.Tensor, module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        # Average before unscaling: an inf/nan on one rank then reaches all, so all skip (or take) the same step.
        average_gradients(module.parameters(), self.context)
        self.scaler.unscale_(optimizer)
        for param in module.parameters():
            if param.grad is not None:  # the reference's guard against a rare inf/nan gradient
                torch.nan_to_num_(param.grad, nan=0, posinf=1e5, neginf=-1e5)
        self.scaler.step(optimizer)
        self.scaler.update()

    def _generate(self, z: torch.Tensor, c: torch.Tensor | None, *,
                  update_emas: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        ws = losses.mix_styles(self.G, z, c, prob=self.preset.style_mixing_prob, update_emas=update_emas,
                               generator=self.noise_rng)
        return self.G.synthesis(ws, noise_mode="random", noise_max_resolution=self.preset.noise_max_resolution), ws

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        if self.preset.diffaugment:  # before ADA's pipeline: both see every image D sees, real and fake alike
            images = diff_augment(images, generator=self.noise_rng)
        return self.augment(images, generator=self.noise_rng)

    def _g_main(self) -> dict[str, float]:
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        z, c = self._fake_inputs(self.local_batch)
        weight = self.preset.mode_seeking_weight
        if weight > 0 and c is not None:  # pairs (i, i + half) share a class for the mode-seeking term
            half = len(c) // 2
            c = torch.cat([c[:half], c[:half], c[2 * half:]])
        dual = self._dual_projection_weight(c)
        with self.precision.autocast():
            fake, _ = self._generate(z, c, update_emas=True)  # the G step tracks w_avg for truncation
            if dual > 0 and c is not None:
                fake_logits, class_scores = self.D.forward_with_class_scores(self._augment(fake), c)
            else:
                fake_logits = self.D(self._augment(fake), c)
            loss = losses.g_nonsaturating_loss(fake_logits, transition=self.transition)
            stats = {"loss/G": loss.item()}
            if dual > 0 and c is not None:
                classified = losses.dual_projection_loss(class_scores, c)
                loss = loss + dual * classified
                stats["loss/G_class"] = classified.item()
            if weight > 0:
                seeking = losses.mode_seeking_penalty(fake, z)
                loss = loss + weight * seeking
                stats["loss/G_ms"] = seeking.item()
        self._step(loss, self.G, self.opt_G)
        return stats

    def _g_reg(self) -> dict[str, float]:
        batch = max(1, self.local_batch // self.preset.pl_batch_shrink)
        z, c = self._fake_inputs(batch)
        fake, ws = self._generate(z, c)  # fp32: the penalty's second-order gradients need the range
        penalty, self.pl_mean = losses.path_length_penalty(fake, ws, self.pl_mean, decay=self.preset.pl_decay)
        average_tensors([self.pl_mean], self.context)  # a lerp is linear: the mean of the global batch, on every rank
        self._step(penalty * self.preset.pl_weight * self.preset.pl_interval, self.G, self.opt_G)
        return {"loss/G_pl": penalty.item()}

    def _d_main(self) -> dict[str, float]:
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        z, c_fake = self._fake_inputs(self.local_batch)
        real, c_real = self._real_batch()
        with self.precision.autocast():
            with torch.no_grad():  # D's step needs no gradient through G
                fake, _ = self._generate(z, c_fake)
            fake_logits = self.D(self._augment(fake), c_fake)
            mismatch = self.preset.class_mismatch_weight if c_real is not None and self.num_classes > 1 else 0.0
            dual = self._dual_projection_weight(c_real)
            if dual > 0 and c_real is not None:
                # the class scores hold the wrong labels' logits too, so the mismatch term needs no second pass
                real_logits, class_scores = self.D.forward_with_class_scores(self._augment(real), c_real)
                wrong_logits = class_scores.gather(1, self._wrong_labels(c_real)[:, None])
            elif mismatch > 0 and c_real is not None:
                real_logits, wrong_logits = self.D.forward_with_other_labels(self._augment(real), c_real,
                                                                              self._wrong_labels(c_real))
            else:
                real_logits = self.D(self._augment(real), c_real)
            loss = losses.d_logistic_loss(real_logits.float(), fake_logits.float(), transition=self.transition)
        stats = self._lecam(real_logits, fake_logits)
        if mismatch > 0:
            wrong = losses.class_mismatch_loss(wrong_logits)
            loss = loss + mismatch * wrong
            stats["loss/D_mismatch"] = wrong.item()
        if dual > 0 and c_real is not None:
            classified = losses.dual_projection_loss(class_scores, c_real)
            loss = loss + dual * classified
            stats["loss/D_class"] = classified.item()
        if "_penalty" in stats:
            loss = loss + self.preset.lecam_weight * stats.pop("_penalty")
        self._step(loss, self.D, self.opt_D)
        real_scores = losses.realness_logits(real_logits.detach())
        self.ada.accumulate(gather_cat(real_scores, self.context))  # p stays equal on every rank
        return {"loss/D": loss.item(), "D/real": real_scores.mean().item(),
                "D/fake": losses.realness_logits(fake_logits.detach()).mean().item(), **stats}

    def _dual_projection_weight(self, c: torch.Tensor | None) -> float:
        """The dual projection's weight for this batch: 0 without labels or with one class."""
        return self.preset.dual_projection_weight if c is not None and self.num_classes > 1 else 0.0

    def _wrong_labels(self, c: torch.Tensor) -> torch.Tensor:
        """A label other than c for every sample, uniform over the other classes."""
        shift = torch.randint(1, self.num_classes, c.shape, generator=self.noise_rng, device=c.device)
        return (c + shift) % self.num_classes

    def _lecam(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict:
        """The LeCam term against the anchors so far ({"_penalty": tensor, "loss/D_lecam": float}), then the
        anchors move towards this batch; {} when the weight is 0."""
        if self.preset.lecam_weight <= 0:
            return {}
        real, fake = losses.realness_logits(real_logits), losses.realness_logits(fake_logits)
        # the anchors move with every rank's batch, so they stay equal on every rank (as ADA's p does)
        everyone = (gather_cat(real.detach(), self.context), gather_cat(fake.detach(), self.context))
        if self.lecam.real is None or self.lecam.fake is None:
            self.lecam.update(*everyone)
        assert self.lecam.real is not None and self.lecam.fake is not None  # set by the first update
        penalty = losses.lecam_penalty(real, fake, anchor_real=self.lecam.real, anchor_fake=self.lecam.fake)
        self.lecam.update(*everyone)
        return {"_penalty": penalty, "loss/D_lecam": penalty.item()}

    def _d_reg(self) -> dict[str, float]:
        real, c_real = self._real_batch()
        real.requires_grad_(True)
        real_logits = self.D(self._augment(real), c_real)  # fp32: R1 differentiates a gradient
        penalty = losses.r1_penalty(real_logits, real, gamma=self.preset.gamma)
        self._step(penalty * self.preset.r1_interval, self.D, self.opt_D)
        return {"loss/D_r1": penalty.item()}

    def _update_ema(self) -> None:
        beta = ema_beta(preset=self.preset, images_seen=self.images_seen)
        # w_avg (truncation's centre) moved towards this rank's batch; a lerp is linear, so its mean over the
        # ranks is what one process with the global batch would have, and every rank's G and G_ema stay equal.
        average_tensors([self.G.mapping.w_avg], self.context)
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.lerp_(p.detach(), 1 - beta)
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)

    @property
    def transition(self) -> float:
        """Weight of the class in G and in D's loss now (transitional conditioning; 1 otherwise)."""
        return transition_weight(preset=self.preset, kimg=self.done) if self.num_classes else 1.0

    def _set_transition(self) -> None:
        if self.G.mapping.transitional:
            self.G.mapping.transition.fill_(self.transition)  # copied to G_ema with the other buffers

    def train_step(self) -> dict[str, float]:
        """One minibatch: every phase that is due, then EMA, counters and the ADA adjustment."""
        self._set_transition()
        stats = self._g_main()
        if self.preset.pl_weight > 0 and self._steps % self.preset.pl_interval == 0:
            stats.update(self._g_reg())
        stats.update(self._d_main())
        if self.preset.gamma > 0 and self._steps % self.preset.r1_interval == 0:
            stats.update(self._d_reg())
        self.images_seen += self.config.batch_size
        self._steps += 1
        self._update_ema()
        stats["augment/p"] = self.ada.p
        if self.G.mapping.transitional:
            stats["conditioning/transition"] = self.transition
        if self.ada.r_t is not None:
            stats["augment/rt"] = self.ada.r_t
        self._tick_means.add(stats)
        return stats

    # --- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"operator": "stylegan", "G": self.G.state_dict(), "D": self.D.state_dict(),
                "G_ema": self.G_ema.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "augment": self.augment.state_dict(), "ada": self.ada.state_dict(), "lecam": self.lecam.state_dict(),
                "scaler": self.scaler.state_dict(), "data_rng": self.data_rng.get_state(),
                "noise_rng": self.noise_rng.get_state(),
                "pl_mean": self.pl_mean, "images_seen": self.images_seen, "steps": self._steps,
                "config": self.config.to_json_dict(), "class_names": self.class_names,
                "data_fingerprint": self.data_fingerprint,
                "num_classes": self.num_classes, "img_channels": int(self.images.shape[1]),
                "divergence": list(self.monitor.reasons)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_weights(state)
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.augment.load_state_dict(state["augment"])
        self.ada.load_state_dict(state["ada"])
        if "lecam" in state:  # checkpoints before issue 22 have no anchors
            self.lecam.load_state_dict(state["lecam"])
        self.scaler.load_state_dict(state["scaler"])
        self.data_rng.set_state(state["data_rng"])
        self.noise_rng.set_state(state["noise_rng"])
        for generator in (self.data_rng, self.noise_rng):  # the checkpoint holds rank 0's streams
            fork_generator_for_rank(generator, self.context.rank)
        self.pl_mean = state["pl_mean"].to(self.device)
        self.images_seen, self._steps = int(state["images_seen"]), int(state["steps"])
        self.monitor.reasons = list(state.get("divergence", []))  # a flagged run stays flagged after a resume
        self._stopped_early = self.config.stop_on_divergence and self.monitor.diverged

    def load_weights(self, state: dict[str, Any], *, strict: bool = True) -> None:
        """Only the networks. Not strict (transfer learning from another run, maybe another preset, resolution
        or class count): every tensor whose name and shape fit is loaded, the rest keeps its fresh init."""
        for name, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            if strict:
                module.load_state_dict(state[name])
            else:
                load_matching(module, state[name], label=name)

    # --- health ------------------------------------------------------------------------------------
    def tick_health(self) -> dict[str, float]:
        """Collapse watch on G_ema's samples of a fixed z grid, the same seeds in every class (see
        ganfactory.metrics.collapse): per-class diversity relative to the real images, how alike the classes
        draw one latent, and the spread of all samples. Returns the indicators ("diversity/mean", "diversity/min",
        and with classes "diversity/classes", "diversity/spread"); a sign that appears becomes an alert."""
        classes = max(self.num_classes, 1)
        per_class = max(4, min(16, 256 // classes))  # at most ~256 samples a tick: milliseconds to a second
        seeds = [1_000_000 + i for i in range(per_class)]  # fixed across ticks and runs, apart from the grid's
        grid = torch.stack([synthesize(self.G_ema, seeds=seeds, class_index=k if self.num_classes else None,
                                       truncation=1.0, device=self.device) for k in range(classes)]).clamp(-1, 1).cpu()
        if self._watch is None:
            real = RealSpread.of(self.images.cpu(), self.labels.cpu() if self.num_classes else None,
                                 num_classes=self.num_classes)
            self._watch = CollapseWatch(real=real, class_names=self.class_names)
        health, alerts = self._watch.observe(grid, where=f"at {self.done:.3f} kimg")
        self._health_alerts += alerts
        return health

    # --- metrics and stability (engine hooks: tick_metrics + primary_metric, tick_alerts) --------------
    @property
    def primary_metric(self) -> PrimaryMetric | None:
        return self.metrics.primary if self.metrics is not None else None

    def tick_metrics(self) -> dict[str, float]:
        """KID/FID of G_ema on the fixed subset (--metrics), fed to the stability monitor; {} without --metrics."""
        if self.metrics is None:
            return {}
        values = self.metrics(self.G_ema, self.device)
        primary = self.metrics.primary
        self._pending_alerts += self.monitor.observe_metric(primary, values[primary.name],
                                                            where=f"at {self.done:.3f} kimg")
        return values

    def tick_alerts(self) -> list[str]:
        """Collapse-watch and divergence sentences raised at this tick (logged by the engine, kept in stats.jsonl
        and progress.json); with --stop-on-divergence the first divergence ends training after this tick's
        checkpoint (a collapse sign does not: early in a run the classes are not learnt yet)."""
        means = self._tick_means.means()
        self._tick_means.reset()
        alerts = self._pending_alerts + self.monitor.observe_tick(means, where=f"at {self.done:.3f} kimg")
        self._pending_alerts = []
        if alerts and self.config.stop_on_divergence:
            self._stopped_early = True
            alerts.append(f"Stopping early at {self.done:.3f} kimg (--stop-on-divergence).")
        collapse, self._health_alerts = self._health_alerts, []
        return collapse + alerts

    def write_samples(self, path: Path) -> None:
        images = generate_grid(self.G_ema, num_classes=self.num_classes, seed=self.config.seed, device=self.device)
        save_grid(images, path, columns=grid_columns(self.num_classes))
