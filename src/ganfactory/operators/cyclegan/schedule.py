"""CycleGAN learning-rate rule: constant, then linear decay to zero (Zhu et al. 2017).

The paper keeps the rate for 100 epochs and decays it linearly to zero over the next 100. Here the
split is a fraction of ``max_epoch`` (the ModelArts parameter), 0.5 by default. The factor for
epoch e (0-based) is the reference's ``1 - max(0, e + 1 - n_constant) / (n_decay + 1)``: 1 through
epoch n_constant - 1, then it falls by 1 / (n_decay + 1) per epoch and is exactly 0 at e = max_epoch.
"""

from __future__ import annotations

import functools

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["linear_decay_factor", "split_epochs", "make_lr_scheduler"]


def split_epochs(max_epoch: int, constant_fraction: float = 0.5) -> tuple[int, int]:
    """(epochs at the constant rate, epochs of linear decay) for a run of ``max_epoch`` epochs."""
    if max_epoch < 1:
        raise ValueError(f"max_epoch must be >= 1, got {max_epoch}")
    if not 0.0 <= constant_fraction <= 1.0:
        raise ValueError(f"constant_fraction must lie in [0, 1], got {constant_fraction}")
    n_constant = int(max_epoch * constant_fraction)
    return n_constant, max_epoch - n_constant


def linear_decay_factor(epoch: int, *, n_constant: int, n_decay: int) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based); never below 0."""
    return max(0.0, 1.0 - max(0, epoch + 1 - n_constant) / (n_decay + 1))


def make_lr_scheduler(
    optimizer: torch.optim.Optimizer, *, max_epoch: int, constant_fraction: float = 0.5
) -> LambdaLR:
    """A LambdaLR applying the rule; call ``step()`` once at the end of every epoch.

    The rule is a ``functools.partial`` so ``state_dict()`` stores only counters (last_epoch, base and
    last rates), never the rule's arguments: on resume the configured max_epoch governs, and
    ``load_state_dict`` continues the epoch count where the checkpoint left it.
    """
    n_constant, n_decay = split_epochs(max_epoch, constant_fraction)
    rule = functools.partial(linear_decay_factor, n_constant=n_constant, n_decay=n_decay)
    return LambdaLR(optimizer, lr_lambda=rule)
