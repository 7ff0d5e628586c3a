"""Images as tensors for the GAN operators: a whole folder decoded once into memory, or streamed.

Training sets here are small (the point of the project is growing small datasets), so decoding
every image once into a uint8 tensor is cheaper than re-decoding each epoch and needs a quarter of
the memory of float32. Large folders that are only translated (CycleGAN predict) are streamed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch

from ganfactory.data.discovery import Layout, discover_images
from ganfactory.data.imageio import ColorLike, FitMode, as_size, fit, load_image, parse_color, pil_to_tensor
from ganfactory.data.parallel import thread_map
from ganfactory.errors import ConfigError, InputError

logger = logging.getLogger(__name__)


@dataclass
class ImageFolderData:
    """A decoded image folder: `images[i]` is `files[i]`, with class index `labels[i]`."""

    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor  # int64 [N], indices into class_names
    class_names: list[str]
    conditional: bool  # True for a dual-level folder (class subfolders), even with one class
    files: list[Path]
    unreadable: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def layout(self) -> Layout:
        return "dual" if self.conditional else "single"


def load_image_folder(
    root: Path,
    *,
    resolution: int | tuple[int, int],
    channels: int = 3,
    mode: FitMode = "crop",
    background: ColorLike = "white",
    files: dict[str, list[Path]] | None = None,
    workers: int | None = None,
) -> ImageFolderData:
    """Decode a folder (or exactly `files`, e.g. a ValidationReport's good_files) into a uint8 tensor.

    Files that fail to decode are skipped with a logged warning; InputError when none is left.
    """
    size = as_size(resolution)
    _check_channels(channels)
    root = Path(root)
    if files is None:
        discovered = discover_images(root)
        classes, conditional = discovered.classes, discovered.layout == "dual"
    else:
        classes = {name: list(paths) for name, paths in sorted(files.items()) if paths}
        conditional = _lies_in_subfolders(root, classes)
    items = [(label, path) for label, paths in enumerate(classes.values()) for path in paths]
    if not items:
        raise InputError(f"no image files were given for {root}; check the data folder.")
    decode = partial(_decode, size=size, channels=channels, mode=mode, background=parse_color(background))
    images = torch.empty((len(items), channels, *size), dtype=torch.uint8)
    keep = torch.ones(len(items), dtype=torch.bool)
    for index, tensor in enumerate(thread_map(decode, [path for _, path in items], workers=workers)):
        if tensor is None:
            keep[index] = False
        else:
            images[index] = tensor
    if not bool(keep.any()):
        raise InputError(f"none of the {len(items)} image files under {root} can be read; replace them with valid "
                         "images.")
    labels = torch.tensor([label for label, _ in items], dtype=torch.int64)
    paths = [path for _, path in items]
    logger.info("loaded %d images (%s) from %s, %.1f MiB", int(keep.sum()), "x".join(map(str, size)),
                root, images.numel() / 2**20)
    return ImageFolderData(
        images=images[keep] if not bool(keep.all()) else images, labels=labels[keep], class_names=list(classes),
        conditional=conditional, files=[p for p, k in zip(paths, keep.tolist()) if k],
        unreadable=[p for p, k in zip(paths, keep.tolist()) if not k],
    )


def iter_image_batches(
    paths: Sequence[Path],
    *,
    size: int | tuple[int, int],
    channels: int = 3,
    batch_size: int,
    mode: FitMode = "crop",
    background: ColorLike = "white",
    workers: int | None = None,
) -> Iterator[tuple[torch.Tensor, list[Path]]]:
    """Stream (uint8 [B, C, H, W], paths) batches from disk; unreadable files are skipped with a warning.

    Only one batch is decoded at a time, so any number of files fits in memory.
    """
    target = as_size(size)
    _check_channels(channels)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}.")
    decode = partial(_decode, size=target, channels=channels, mode=mode, background=parse_color(background))
    for start in range(0, len(paths), batch_size):
        chunk = list(paths[start:start + batch_size])
        decoded = list(thread_map(decode, chunk, workers=workers))
        good = [(tensor, path) for tensor, path in zip(decoded, chunk) if tensor is not None]
        if good:
            yield torch.stack([tensor for tensor, _ in good]), [path for _, path in good]


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] as float32 in [-1, 1], the range the generators produce."""
    if images.dtype != torch.uint8:
        raise ValueError(f"to_float expects uint8 images, got {images.dtype}.")
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def from_float(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] (values outside are clipped) as uint8 in [0, 255]."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def _decode(path: Path, *, size: tuple[int, int], channels: int, mode: FitMode, background) -> torch.Tensor | None:
    """One file as a uint8 [C, H, W] tensor, or None (logged) when it cannot be read."""
    try:
        img = load_image(path, channels=channels, background=background)
    except InputError as exc:
        logger.warning("skipping an image: %s", exc)
        return None
    return pil_to_tensor(fit(img, size, mode=mode, background=background))


def _lies_in_subfolders(root: Path, classes: dict[str, list[Path]]) -> bool:
    """Dual level when the files sit in subfolders of root (string comparison: no file-system calls)."""
    base = os.path.abspath(root)
    return any(os.path.abspath(path.parent) != base for paths in classes.values() for path in paths)


def _check_channels(channels: int) -> None:
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels}.")
