"""The CUT / FastCUT training step (Park et al. 2020; taesungp/contrastive-unpaired-translation).

One generator G (source -> target, the CycleGAN ResNet generator), one PatchGAN discriminator D, the PatchNCE heads
F. Per step, as the reference: G translates the source batch (with the target batch stacked on for the identity
NCE in CUT; the whole input x-flipped with probability 0.5 in FastCUT); D takes an LSGAN step on real target against
the detached translations (no image pool); then G and F take a step on lambda_GAN * LSGAN(D(G(a)), real) plus
lambda_NCE * PatchNCE(a, G(a)), averaged with PatchNCE(b, G(b)) when the identity NCE is on.
The state dict keeps the CycleGAN names for what both have (G_AB, D_B), so predict and export read either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganfactory.data.dataset import ImageFolderData
from ganfactory.engine.distributed import DistributedContext, broadcast_module
from ganfactory.engine.precision import Precision
from ganfactory.engine.rng import fork_generator_for_rank
from ganfactory.operators.cyclegan import loss as losses
from ganfactory.operators.cyclegan.hparams import CycleGANTraining
from ganfactory.operators.cyclegan.nce import patch_nce
from ganfactory.operators.cyclegan.networks import (
    PatchHeads,
    ResnetBlock,
    ResnetGenerator,
    init_weights,
    nce_layers,
)
from ganfactory.operators.cyclegan.schedule import make_lr_scheduler
from ganfactory.operators.cyclegan.training import (
    UnpairedTrainable,
    build_discriminator,
    build_generator,
)
from ganfactory.output.images import save_grid


class CUTTrainable(UnpairedTrainable):
    """G, D and the PatchNCE heads F with their optimisers and schedulers; the engine's loop drives it."""

    def __init__(self, *, hparams: CycleGANTraining, source: ImageFolderData, target: ImageFolderData,
                 device: torch.device, precision: Precision, context: DistributedContext = DistributedContext(),
                 domain_names: tuple[str, str] = ("source", "target")) -> None:
        config = hparams
        self.config, self.device, self.precision, self.context = config, device, precision, context
        self.domain_names = domain_names
        with torch.random.fork_rng(devices=[]):  # the same initial weights for a seed, global RNG untouched
            torch.manual_seed(config.seed)
            generator: ResnetGenerator = init_weights(build_generator(config))
            self.G = generator.to(device)  # Module.to moves in place and returns the same module
            self.D = init_weights(build_discriminator(config)).to(device)
            blocks = sum(isinstance(m, ResnetBlock) for m in generator.model)
            self.layers = nce_layers(generator.n_downsampling, blocks)
            channels = [generator.layer_channels(index) for index in self.layers]
            self.F = init_weights(PatchHeads(channels, units=config.nce_mlp_units)).to(device)  # eager, not lazy
        for net in self.nets.values():
            broadcast_module(net, context)
        self._init_data(source, target)
        betas = (0.5, 0.999)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config.g_learning_rate, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=config.d_learning_rate, betas=betas)
        self.opt_F = torch.optim.Adam(self.F.parameters(), lr=config.g_learning_rate, betas=betas)
        self.schedulers = [make_lr_scheduler(opt, max_epoch=config.max_epoch, constant_fraction=config.decay_fraction)
                           for opt in (self.opt_G, self.opt_D, self.opt_F)]
        self.sampler = torch.Generator().manual_seed(config.seed * 104_729 + 11)  # patch locations and flips
        self.scaler = precision.grad_scaler()

    @property
    def nets(self) -> dict[str, torch.nn.Module]:
        return {"G_AB": self.G, "D_B": self.D, "F": self.F}

    # --- the step --------------------------------------------------------------------------------
    def _translate(self, real_A: torch.Tensor, real_B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """(G(a), G(b) or None, flipped): one generator pass over the source (and target) batch."""
        x = torch.cat([real_A, real_B]) if self.config.nce_idt else real_A
        flipped = self.config.flip_equivariance and bool(torch.rand(1, generator=self.sampler) < 0.5)
        fake = self.G(x.flip(3) if flipped else x)
        n = len(real_A)
        return fake[:n], (fake[n:] if self.config.nce_idt else None), flipped

    def _nce(self, source: torch.Tensor, translated: torch.Tensor, flipped: bool) -> torch.Tensor:
        config = self.config
        return config.lambda_nce * patch_nce(self.G, self.F, source, translated, layers=self.layers,
                                             num_patches=config.num_patches, temperature=config.nce_temperature,
                                             sampler=self.sampler, flipped=flipped)

    def train_step(self) -> dict[str, float]:
        real_A, real_B = self._batch(0), self._batch(1)
        with self.precision.autocast():
            fake_B, idt_B, flipped = self._translate(real_A, real_B)
            loss_D = losses.discriminator_loss(self.D, real_B, fake_B)  # detaches fake_B
        self._optimise(loss_D, [self.opt_D], [self.D])
        with self.precision.autocast():
            with losses.frozen((self.D,)):
                loss_gan = self.config.lambda_gan * losses.lsgan_loss(self.D(fake_B), True)
            no_nce = torch.zeros((), device=self.device)
            nce = self._nce(real_A, fake_B, flipped) if self.config.lambda_nce > 0 else no_nce
            nce_y = self._nce(real_B, idt_B, flipped) if idt_B is not None and self.config.lambda_nce > 0 else None
            total = loss_gan + (nce if nce_y is None else 0.5 * (nce + nce_y))
        self._optimise(total, [self.opt_G, self.opt_F], [self.G, self.F])
        self._end_step(self.schedulers)
        values = {"loss/G_GAN": loss_gan.item(), "loss/NCE": nce.item(), "loss/D": loss_D.item(),
                  "lr/G": self.opt_G.param_groups[0]["lr"]}
        return values if nce_y is None else {**values, "loss/NCE_Y": nce_y.item()}

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"operator": "cyclegan", "mode": self.config.mode,
                **{name: net.state_dict() for name, net in self.nets.items()},
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(), "opt_F": self.opt_F.state_dict(),
                "schedulers": [s.state_dict() for s in self.schedulers], "scaler": self.scaler.state_dict(),
                "data_rng": self.data_rng.get_state(), "sampler": self.sampler.get_state(), "steps": self._steps,
                "config": self.config.to_json_dict(), "domain_names": list(self.domain_names)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(state[name])
        for optimizer, name in ((self.opt_G, "opt_G"), (self.opt_D, "opt_D"), (self.opt_F, "opt_F")):
            optimizer.load_state_dict(state[name])
        for scheduler, saved in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)
        self.scaler.load_state_dict(state["scaler"])
        self.data_rng.set_state(state["data_rng"])
        fork_generator_for_rank(self.data_rng, self.context.rank)  # the checkpoint holds rank 0's stream
        self.sampler.set_state(state["sampler"])
        self._steps = int(state["steps"])

    @torch.no_grad()
    def write_samples(self, path: Path) -> None:
        """Rows: real A, G(A), real B, G(B) (the identity; centre crops of the first images)."""
        rows = []
        for domain in (0, 1):
            real = self._sample_crops(domain)
            rows += [real, self.G(real)]
        save_grid(torch.cat([r.float().cpu() for r in rows]), path, columns=len(self.sample_batch[0]))
