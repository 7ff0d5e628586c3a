"""The CycleGAN training step (Zhu et al. 2017): both generators against LSGAN, cycle and identity losses,
then both discriminators on a pool of earlier fakes. Epoch = max(|A|, |B|) / batch steps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import ImageFolderData
from ganfactory.engine.distributed import DistributedContext, average_gradients, broadcast_module, local_batch_size
from ganfactory.engine.loop import EpochCounter
from ganfactory.engine.precision import Precision
from ganfactory.engine.rng import fork_generator_for_rank
from ganfactory.operators.cyclegan import loss as losses
from ganfactory.operators.cyclegan.hparams import CycleGANTraining
from ganfactory.operators.cyclegan.networks import (
    PatchDiscriminator,
    ResnetGenerator,
    init_weights,
)
from ganfactory.operators.cyclegan.pool import ImagePool
from ganfactory.operators.cyclegan.schedule import make_lr_scheduler
from ganfactory.output.images import save_grid

SAMPLE_COUNT = 4


def build_generator(config: CycleGANTraining) -> ResnetGenerator:
    """A fresh generator of the architecture the checkpoints record (both directions have this shape)."""
    return config.architecture.generator()


def build_discriminator(config: CycleGANTraining) -> PatchDiscriminator:
    """A fresh PatchGAN discriminator, from the same architecture as the generators."""
    return config.architecture.discriminator()


class UnpairedTrainable(EpochCounter):
    """What every unpaired mode shares: the two domains' batches (crop + flip, resumable from (seed, epoch) and
    data_rng), the epoch counters and the (scaled, DDP-averaged) optimiser step."""

    config: CycleGANTraining  # the hyper-parameters (CycleGANTraining.from_config), not the run's options
    context: DistributedContext
    device: torch.device
    scaler: torch.amp.GradScaler
    files: dict[str, list[Path]]  # set by the operator: the translation after training reads the same files

    def _init_data(self, source: ImageFolderData, target: ImageFolderData) -> None:
        self.domains = (source.images, target.images)  # uint8 at load size, decoded once
        self.local_batch = local_batch_size(self.config.batch_size, self.context)
        self.steps_per_epoch = math.ceil(max(len(source), len(target)) / self.config.batch_size)
        self.data_rng = torch.Generator().manual_seed(self.config.seed * 7919 + self.context.rank)
        self._steps = 0
        self.sample_batch = tuple(domain[:SAMPLE_COUNT] for domain in self.domains)

    # --- counters --------------------------------------------------------------------------------
    @property
    def total(self) -> float:
        return float(self.config.max_epoch)

    # --- data ------------------------------------------------------------------------------------
    def _epoch_order(self, domain: int, epoch: int) -> torch.Tensor:
        """A fresh permutation per epoch, derived from (seed, epoch): resumable without storing it."""
        size = len(self.domains[domain])
        generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch * 2 + domain)
        reps = math.ceil(self.steps_per_epoch * self.config.batch_size / size)
        return torch.cat([torch.randperm(size, generator=generator) for _ in range(reps)])

    def _batch(self, domain: int) -> torch.Tensor:
        """Random crop to the training size and random x-flip, from the images held at load size."""
        epoch, step = divmod(self._steps, self.steps_per_epoch)
        start = step * self.config.batch_size + self.context.rank * self.local_batch
        index = self._epoch_order(domain, epoch)[start:start + self.local_batch]
        images = self.domains[domain][index]
        height, width = self.config.image_height, self.config.image_width
        top = int(torch.randint(images.shape[2] - height + 1, (1,), generator=self.data_rng))
        left = int(torch.randint(images.shape[3] - width + 1, (1,), generator=self.data_rng))
        images = images[:, :, top:top + height, left:left + width]
        if bool(torch.rand(1, generator=self.data_rng) < 0.5):
            images = images.flip(3)
        return (images.to(self.device).float() / 127.5 - 1).contiguous(memory_format=torch.channels_last)

    def _sample_crops(self, domain: int) -> torch.Tensor:
        """Centre crops of the first images of a domain, for the progress grid."""
        images, height, width = self.sample_batch[domain], self.config.image_height, self.config.image_width
        top, left = (images.shape[2] - height) // 2, (images.shape[3] - width) // 2
        return images[:, :, top:top + height, left:left + width].to(self.device).float() / 127.5 - 1

    # --- the step --------------------------------------------------------------------------------
    def _optimise(self, loss: torch.Tensor, optimizers: list[torch.optim.Optimizer],
                  nets: list[torch.nn.Module]) -> None:
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        for net in nets:
            average_gradients(net.parameters(), self.context)
        for optimizer in optimizers:
            self.scaler.step(optimizer)
        self.scaler.update()

    def _end_step(self, schedulers: list[Any]) -> None:
        self._steps += 1
        if self._steps % self.steps_per_epoch == 0:
            for scheduler in schedulers:
                scheduler.step()


class CycleGANTrainable(UnpairedTrainable):
    """Both generators and discriminators, their optimisers, schedulers and pools; the engine's loop drives it."""

    def __init__(self, *, hparams: CycleGANTraining, source: ImageFolderData, target: ImageFolderData,
                 device: torch.device, precision: Precision, context: DistributedContext = DistributedContext(),
                 domain_names: tuple[str, str] = ("source", "target")) -> None:
        config = hparams
        self.config, self.device, self.precision, self.context = config, device, precision, context
        self.domain_names = domain_names
        with torch.random.fork_rng(devices=[]):  # the same initial weights for a seed, global RNG untouched
            torch.manual_seed(config.seed)
            self.G_AB, self.G_BA = (init_weights(build_generator(config)).to(device) for _ in range(2))
            self.D_A, self.D_B = (init_weights(build_discriminator(config)).to(device) for _ in range(2))
        for net in self.nets.values():
            broadcast_module(net, context)
        self._init_data(source, target)
        betas = (0.5, 0.999)
        self.opt_G = torch.optim.Adam([*self.G_AB.parameters(), *self.G_BA.parameters()],
                                      lr=config.g_learning_rate, betas=betas)
        self.opt_D = torch.optim.Adam([*self.D_A.parameters(), *self.D_B.parameters()],
                                      lr=config.d_learning_rate, betas=betas)
        self.schedulers = [make_lr_scheduler(opt, max_epoch=config.max_epoch,
                                             constant_fraction=config.decay_fraction)
                           for opt in (self.opt_G, self.opt_D)]
        self.pools = (ImagePool(config.pool_size, generator=torch.Generator().manual_seed(config.seed + 1)),
                      ImagePool(config.pool_size, generator=torch.Generator().manual_seed(config.seed + 2)))
        self.scaler = precision.grad_scaler()

    @property
    def nets(self) -> dict[str, torch.nn.Module]:
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}

    def train_step(self) -> dict[str, float]:
        real_A, real_B = self._batch(0), self._batch(1)
        lam = self.config.lambda_cycle
        with self.precision.autocast():  # the objective computes no gradient for D's weights
            out = losses.generator_objective(g_a=self.G_AB, g_b=self.G_BA, d_a=self.D_B, d_b=self.D_A,
                                             real_a=real_A, real_b=real_B, lambda_a=lam, lambda_b=lam,
                                             lambda_identity=self.config.lambda_identity)
        self._optimise(out.total, [self.opt_G], [self.G_AB, self.G_BA])
        fake_B = self.pools[1].query(out.fake_b.detach().float())
        fake_A = self.pools[0].query(out.fake_a.detach().float())
        with self.precision.autocast():
            loss_D_B = losses.discriminator_loss(self.D_B, real_B, fake_B)
            loss_D_A = losses.discriminator_loss(self.D_A, real_A, fake_A)
        self._optimise(loss_D_A + loss_D_B, [self.opt_D], [self.D_A, self.D_B])
        self._end_step(self.schedulers)
        return {**{f"loss/{k}": float(v) for k, v in out.losses.items()},
                "loss/D_A": loss_D_A.item(), "loss/D_B": loss_D_B.item(), "lr/G": self.opt_G.param_groups[0]["lr"]}

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"operator": "cyclegan", **{name: net.state_dict() for name, net in self.nets.items()},
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "schedulers": [s.state_dict() for s in self.schedulers],
                "pools": [pool.state_dict() for pool in self.pools], "scaler": self.scaler.state_dict(),
                "data_rng": self.data_rng.get_state(), "steps": self._steps, "config": self.config.to_json_dict(),
                "domain_names": list(self.domain_names)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(state[name])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        for scheduler, saved in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)
        for pool, saved in zip(self.pools, state["pools"]):
            pool.load_state_dict(saved)
        self.scaler.load_state_dict(state["scaler"])
        self.data_rng.set_state(state["data_rng"])
        fork_generator_for_rank(self.data_rng, self.context.rank)  # the checkpoint holds rank 0's stream
        self._steps = int(state["steps"])

    @torch.no_grad()
    def write_samples(self, path: Path) -> None:
        """Rows: real A, A->B, A->B->A, real B, B->A, B->A->B (centre crops of the first images)."""
        rows = []
        for domain, forward, backward in ((0, self.G_AB, self.G_BA), (1, self.G_BA, self.G_AB)):
            real = self._sample_crops(domain)
            translated = forward(real)
            rows += [real, translated, backward(translated)]
        save_grid(torch.cat([r.float().cpu() for r in rows]), path, columns=len(self.sample_batch[0]))
