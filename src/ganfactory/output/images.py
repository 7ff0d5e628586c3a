"""Turning generator output into image files and grids."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.output.atomic import atomic_write


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """A uint8 tensor [C, H, W] with C = 1 or 3 as an 'L' or 'RGB' image; ValueError for anything else."""
    if tensor.dtype != torch.uint8 or tensor.ndim != 3 or tensor.shape[0] not in (1, 3):
        raise ValueError(f"tensor_to_pil expects uint8 [C,H,W] with C 1 or 3, got {tensor.dtype} "
                         f"{tuple(tensor.shape)}.")
    array = tensor.detach().cpu().permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        return Image.fromarray(np.ascontiguousarray(array[:, :, 0]))
    return Image.fromarray(np.ascontiguousarray(array))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats (any dtype) -> uint8 [B, C, H, W]."""
    images = images.detach().float().cpu()
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def save_image(image_chw: torch.Tensor, path: Path, *, image_format: str = "png") -> Path:
    """Atomic, so a file in Data/ is always whole even if the run is killed while writing it."""
    pil = tensor_to_pil(image_chw)
    fmt = "JPEG" if image_format.lower() in ("jpg", "jpeg") else image_format.upper()
    return atomic_write(path, lambda tmp: pil.save(tmp, format=fmt))


def make_grid(images: torch.Tensor, *, columns: int | None = None, padding: int = 2) -> torch.Tensor:
    """uint8 [B, C, H, W] -> one uint8 [C, H', W'] mosaic."""
    count, channels, height, width = images.shape
    columns = columns or max(1, int(math.ceil(math.sqrt(count))))
    rows = int(math.ceil(count / columns))
    grid = torch.zeros(channels, rows * (height + padding) + padding, columns * (width + padding) + padding,
                       dtype=torch.uint8)
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[:, top:top + height, left:left + width] = images[index]
    return grid


def save_grid(images: torch.Tensor, path: Path, *, columns: int | None = None) -> Path:
    """Save float [-1, 1] or uint8 images as one grid PNG."""
    if images.dtype != torch.uint8:
        images = to_uint8(images)
    return save_image(make_grid(images, columns=columns), path)


def save_gif(frames: list[np.ndarray], path: Path, *, duration_ms: int = 50) -> Path:
    """HWC uint8 frames -> looping GIF."""
    pils = [Image.fromarray(f[:, :, 0] if f.shape[2] == 1 else f) for f in frames]
    return atomic_write(path, lambda tmp: pils[0].save(tmp, format="GIF", save_all=True, append_images=pils[1:],
                                                       duration=duration_ms, loop=0))
