"""The two StackGAN training stages as engine Trainables (unit: epoch). Per step, as the reference does: one D
update (matching-aware), then one G update (adversarial + KL * 2) on the same fakes. Learning rates are halved
every `lr_decay_epochs`, computed from the epoch so that a resumed run sets the same values. `--precision`: the
forward passes and losses run under autocast (bf16/fp16; the losses themselves in fp32), fp16 with one loss scaler
for both optimisers (updated once per step, as torch.amp documents for several optimisers); fp32 is unchanged."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.engine.loop import EpochCounter
from ganfactory.engine.precision import Precision
from ganfactory.operators.stackgan import loss as losses
from ganfactory.operators.stackgan.architecture import StackGANArchitecture
from ganfactory.operators.stackgan.data import mean_caption_embedding, random_crop_flip
from ganfactory.operators.stackgan.hparams import StackGANTraining
from ganfactory.operators.stackgan.models import TextToImage, noise
from ganfactory.operators.stackgan.networks import Discriminator, Stage1Generator, Stage2Generator, init_weights
from ganfactory.operators.stackgan.samples import save_caption_grid

BETAS = (0.5, 0.999)


@dataclass
class StageData:
    """The training rows of one stage: uint8 images at load size [N, 3, L, L], embeddings [N, C, D], the real
    caption count per row; plus fixed captions and embeddings for progress grids."""

    images: torch.Tensor
    embeddings: np.ndarray
    counts: list[int]
    sample_captions: list[str]
    sample_embeddings: torch.Tensor  # [S, D]


class StackGANStage(EpochCounter, ABC):
    """What both stages share: data order, learning-rate schedule, optimisers, state."""

    stage = ""
    unconditional = False
    # Set by each stage's __init__.
    G: torch.nn.Module
    D: Discriminator
    size: int
    epochs: int
    decay_epochs: int

    @abstractmethod
    def fake(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Generated images, and the conditioning mean and log-variance, for a batch of embeddings."""

    def __init__(self, *, hparams: StackGANTraining, data: StageData, arch: StackGANArchitecture,
                 device: torch.device, class_names: list[str], precision: Precision) -> None:
        """hparams: StackGANTraining.from_config of the run's options; arch: this stage's networks (G and D);
        precision: what the steps and samples compute in (engine.precision.resolve_precision)."""
        config = hparams
        self.config, self.data, self.arch, self.device, self.class_names = config, data, arch, device, class_names
        self.precision = precision
        self.scaler = precision.grad_scaler()
        self.batch = min(config.batch_size, len(data.images))
        self.steps_per_epoch = max(1, len(data.images) // self.batch)  # drop_last, as the reference's loader
        self.data_rng = torch.Generator().manual_seed(config.seed * 7919 + 17)
        self._steps = 0
        self.sample_noise = noise([config.seed + i for i in range(len(data.sample_captions))],
                                  z_dim=arch.z_dim, condition_dim=arch.condition_dim)

    def _caption_embeddings(self) -> torch.Tensor:
        """[N * C, D]: every training caption's embedding, for CA's standardisation statistics."""
        embeddings = torch.from_numpy(self.data.embeddings)
        return embeddings.reshape(-1, embeddings.shape[-1]).to(self.device)

    def _optimisers(self) -> None:
        self.opt_G = torch.optim.Adam([p for p in self.G.parameters() if p.requires_grad], lr=self.config.lr,
                                      betas=BETAS)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=self.config.lr, betas=BETAS)

    @property
    def total(self) -> float:
        return float(self.epochs)


    def _lr(self) -> float:
        return self.config.lr * 0.5 ** (self._steps // self.steps_per_epoch // self.decay_epochs)

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(real images [B, 3, R, R], embeddings [B, D]) from a per-epoch permutation derived from (seed, epoch)."""
        epoch, step = divmod(self._steps, self.steps_per_epoch)
        order = torch.randperm(len(self.data.images), generator=torch.Generator().manual_seed(
            self.config.seed * 1_000_003 + epoch))
        index = order[step * self.batch:(step + 1) * self.batch]
        real = random_crop_flip(self.data.images[index], self.size, self.data_rng,
                                mirror=self.config.mirror).to(self.device)
        embedding = mean_caption_embedding(self.data.embeddings[index.numpy()], [self.data.counts[i] for i in index],
                                           self.config.captions_per_embedding, self.data_rng)
        return real, embedding.to(self.device)

    def _optimise(self, loss: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
        optimiser.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimiser)  # skipped for fp16 gradients with inf/NaN

    def train_step(self) -> dict[str, float]:
        for optimiser in (self.opt_G, self.opt_D):
            for group in optimiser.param_groups:
                group["lr"] = self._lr()
        real, embedding = self._batch()
        with self.precision.autocast():
            fake, mu, logvar = self.fake(embedding)
            d_loss = losses.discriminator_loss(self.D, real, fake, mu, unconditional=self.unconditional)
        self._optimise(d_loss.total, self.opt_D)
        with self.precision.autocast():
            g_loss, g_parts = losses.generator_loss(self.D, fake, mu, logvar, unconditional=self.unconditional,
                                                    kl_weight=self.config.kl_weight)
        self._optimise(g_loss, self.opt_G)
        self.scaler.update()  # a no-op unless fp16
        self._steps += 1
        return {"loss/D": d_loss.total.item(), "loss/G": g_loss.item(),
                **{f"loss/{k}": v for k, v in {**d_loss.parts, **g_parts}.items()}, "lr": self._lr()}

    def state_dict(self) -> dict[str, Any]:
        return {"operator": "stackgan", "stage": self.stage, "G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "data_rng": self.data_rng.get_state(), "steps": self._steps, "config": self.config.to_json_dict(),
                "class_names": list(self.class_names), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.data_rng.set_state(state["data_rng"])
        self._steps = int(state["steps"])
        if state.get("scaler"):  # checkpoints written before --precision applied to StackGAN have none
            self.scaler.load_state_dict(state["scaler"])

    @abstractmethod
    def pipeline(self) -> TextToImage:
        """The text -> image path this stage trains (stage II: with the frozen stage I in front)."""

    @torch.no_grad()
    def write_samples(self, path: Path) -> None:
        """Fixed captions and noise; each cell shows the stage's output (stage II: stage I beside it)."""
        pipeline = self.pipeline()
        z, eps1, eps2 = (t.to(self.device) for t in self.sample_noise)
        embedding = self.data.sample_embeddings.to(self.device)
        training = [m.training for m in (self.G, self.D)]
        self.G.eval()
        try:
            with self.precision.autocast():
                first = pipeline.stage1(embedding, z, eps1)[0]
                cells = [[first[i]] for i in range(len(first))]
                if pipeline.stage2 is not None:
                    second = pipeline.stage2(first, embedding, eps2)[0]
                    cells = [[a, b] for a, b in zip(first, second)]
        finally:
            self.G.train(training[0])
        save_caption_grid([[img.float().cpu() for img in cell] for cell in cells], self.data.sample_captions, path)


class Stage1Trainable(StackGANStage):
    stage = "stage1"
    G: Stage1Generator

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        config = self.config
        self.size, self.epochs = self.arch.size, config.stage1_epochs
        self.decay_epochs = config.lr_decay_epochs
        with torch.random.fork_rng(devices=[]):  # the same initial weights for a seed, global RNG untouched
            torch.manual_seed(config.seed)
            self.G = init_weights(self.arch.stage1_generator()).to(self.device)
            self.G.ca.set_embedding_statistics(self._caption_embeddings())
            self.D = init_weights(self.arch.discriminator()).to(self.device)
        self._optimisers()

    def fake(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = torch.randn(embedding.shape[0], self.arch.z_dim, device=self.device)
        return self.G(embedding, z)

    def pipeline(self) -> TextToImage:
        return TextToImage(self.G, None)


class Stage2Trainable(StackGANStage):
    """Stage II on a frozen copy of the finished stage-I generator (eval mode: its BN statistics stay as
    trained; the reference left them in train mode, which would keep changing a "frozen" stage I)."""

    stage = "stage2"
    G: Stage2Generator
    unconditional = True

    def __init__(self, *, stage1: Stage1Generator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        config = self.config
        self.size, self.epochs = self.arch.size, config.stage2_epochs
        self.decay_epochs = config.stage2_lr_decay_epochs
        self.G1 = copy.deepcopy(stage1).to(self.device).eval().requires_grad_(False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed + 1)
            self.G = init_weights(self.arch.stage2_generator()).to(self.device)
            self.G.ca.set_embedding_statistics(self._caption_embeddings())
            self.D = init_weights(self.arch.discriminator()).to(self.device)
        self._optimisers()

    def fake(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = torch.randn(embedding.shape[0], self.arch.z_dim, device=self.device)
        with torch.no_grad():
            stage1_image = self.G1(embedding, z)[0]
        return self.G(stage1_image, embedding)

    def pipeline(self) -> TextToImage:
        return TextToImage(self.G1, self.G)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "G1": self.G1.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.G1.load_state_dict(state["G1"])
