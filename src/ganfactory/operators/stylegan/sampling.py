"""Deterministic latents: image i of class c is always the same image, whatever the batch or resume point."""

from __future__ import annotations

import numpy as np
import torch


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """One latent per integer seed, from its own generator (so it never depends on batching)."""
    return np.random.RandomState(seed % (2 ** 32)).standard_normal(z_dim).astype(np.float32)


def z_batch(seeds: list[int], z_dim: int, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.stack([z_from_seed(s, z_dim) for s in seeds])).to(device)


def image_seed(base_seed: int, index: int) -> int:
    """The seed of the index-th generated image; the class label is a separate input, so one seed
    gives the same style across classes."""
    return base_seed + index


def class_batch(class_index: int | None, count: int, device: torch.device) -> torch.Tensor | None:
    return None if class_index is None else torch.full((count,), class_index, dtype=torch.long, device=device)
