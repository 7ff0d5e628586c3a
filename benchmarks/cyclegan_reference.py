"""A stand-in for the junyanz CycleGAN reference, for side-by-side speed comparisons only.

The reference (junyanz/pytorch-CycleGAN-and-pix2pix) cannot be downloaded here, so this file rebuilds
what it runs from its documented behaviour, written from scratch:
- the same architecture with stock torch layers (nn.ReflectionPad2d, nn.InstanceNorm2d without
  affine parameters or running stats), fp32, NCHW;
- the same training-step structure: forward() computes fake_B, rec_A, fake_A, rec_B; then the
  discriminators are frozen (set_requires_grad False), the identity outputs are computed in the
  generator step as separate forwards, one backward for G and an Adam step; then D is unfrozen, and
  D_A and D_B each run real and fake separately with their own backward, then one Adam step;
- Adam with torch's default implementation for CPU tensors (no fused/foreach flag given).
Module indices match ganfactory's networks, so a state_dict moves between the two unchanged.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from ganfactory.operators.cyclegan.pool import ImagePool


class ReferenceResnetBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Net(nn.Module):
    """Holds the layers under ``model`` as ganfactory's networks do, so state_dict keys agree."""

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def reference_generator(in_channels: int, out_channels: int, *, base_channels: int = 64, n_blocks: int = 9) -> nn.Module:
    """resnet_Nblocks with two down/up-sampling steps, as the reference builds it."""
    ch = base_channels
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ch, 7), nn.InstanceNorm2d(ch), nn.ReLU(True)]
    for _ in range(2):
        layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), nn.InstanceNorm2d(ch * 2), nn.ReLU(True)]
        ch *= 2
    layers += [ReferenceResnetBlock(ch) for _ in range(n_blocks)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1), nn.InstanceNorm2d(ch // 2), nn.ReLU(True)]
        ch //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
    return _Net(layers)


def reference_discriminator(in_channels: int, *, base_channels: int = 64, n_layers: int = 3) -> nn.Module:
    """The 'basic' 70x70 PatchGAN with InstanceNorm, as the reference builds it."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    ch = base_channels
    for n in range(1, n_layers + 1):
        out = base_channels * min(2**n, 8)
        layers += [nn.Conv2d(ch, out, 4, 2 if n < n_layers else 1, 1), nn.InstanceNorm2d(out), nn.LeakyReLU(0.2, True)]
        ch = out
    layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
    return _Net(layers)


def _set_requires_grad(nets: list[nn.Module], flag: bool) -> None:
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


def _gan_loss(pred: torch.Tensor, real: bool) -> torch.Tensor:
    # The reference's GANLoss('lsgan'): MSELoss against a target tensor expanded to pred's shape.
    target = torch.tensor(1.0 if real else 0.0).expand_as(pred)
    return F.mse_loss(pred, target)


class ReferenceCycleGAN:
    """Four networks, two Adams, two pools and optimize_parameters() with the reference's ordering."""

    def __init__(self, *, channels: int, n_blocks: int, lr: float = 2e-4, pool_size: int = 50,
                 lambda_a: float = 10.0, lambda_b: float = 10.0, lambda_identity: float = 0.5) -> None:
        self.g_a, self.g_b = reference_generator(channels, channels, n_blocks=n_blocks), reference_generator(channels, channels, n_blocks=n_blocks)
        self.d_a, self.d_b = reference_discriminator(channels), reference_discriminator(channels)
        self.opt_g = torch.optim.Adam(itertools.chain(self.g_a.parameters(), self.g_b.parameters()), lr=lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(itertools.chain(self.d_a.parameters(), self.d_b.parameters()), lr=lr, betas=(0.5, 0.999))
        self.pool_a, self.pool_b = ImagePool(pool_size, generator=torch.Generator().manual_seed(1)), ImagePool(pool_size, generator=torch.Generator().manual_seed(2))
        self.lambda_a, self.lambda_b, self.lambda_idt = lambda_a, lambda_b, lambda_identity

    def _backward_d(self, net: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        loss = (_gan_loss(net(real), True) + _gan_loss(net(fake.detach()), False)) * 0.5
        loss.backward()
        return loss

    def optimize_parameters(self, real_a: torch.Tensor, real_b: torch.Tensor) -> None:
        fake_b = self.g_a(real_a)
        rec_a = self.g_b(fake_b)
        fake_a = self.g_b(real_b)
        rec_b = self.g_a(fake_a)
        _set_requires_grad([self.d_a, self.d_b], False)
        self.opt_g.zero_grad()
        idt_a = self.g_a(real_b)
        idt_b = self.g_b(real_a)
        loss_g = (
            F.l1_loss(idt_a, real_b) * self.lambda_b * self.lambda_idt
            + F.l1_loss(idt_b, real_a) * self.lambda_a * self.lambda_idt
            + _gan_loss(self.d_a(fake_b), True)
            + _gan_loss(self.d_b(fake_a), True)
            + F.l1_loss(rec_a, real_a) * self.lambda_a
            + F.l1_loss(rec_b, real_b) * self.lambda_b
        )
        loss_g.backward()
        self.opt_g.step()
        _set_requires_grad([self.d_a, self.d_b], True)
        self.opt_d.zero_grad()
        self._backward_d(self.d_a, real_b, self.pool_b.query(fake_b))
        self._backward_d(self.d_b, real_a, self.pool_a.query(fake_a))
        self.opt_d.step()
