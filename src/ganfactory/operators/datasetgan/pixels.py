"""Class-balanced pixel sampling: each sampled pixel first draws a class uniformly among those present,
then a pixel of that class uniformly, so a small part (an eye, a wheel) is seen as often as the background."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class PixelIndex:
    """The pixels of a few masks grouped by class: flat (image, y, x) positions sorted by class."""

    order: Tensor  # long [T]: flat positions image * H * W + y * W + x, grouped by class
    starts: Tensor  # long [K_present]: where each present class begins in `order`
    counts: Tensor  # long [K_present]
    size: int  # H = W

    @classmethod
    def of(cls, masks: Tensor) -> PixelIndex:
        """masks: uint8/long [B, H, W] class indices."""
        flat = masks.reshape(-1).long()
        order = torch.argsort(flat, stable=True)
        _, counts = torch.unique_consecutive(flat[order], return_counts=True)
        starts = torch.cumsum(counts, 0) - counts
        return cls(order=order, starts=starts, counts=counts, size=int(masks.shape[-1]))

    def sample(self, count: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """(image, y, x), each long [count]."""
        device = self.order.device
        which = torch.randint(len(self.counts), (count,), generator=generator, device=device)
        offset = torch.rand(count, generator=generator, device=device) * self.counts[which]
        offset = offset.long().clamp_max(self.counts[which] - 1)
        flat = self.order[self.starts[which] + offset]
        area = self.size * self.size
        return flat // area, (flat % area) // self.size, flat % self.size
