"""Per-pixel style features: every synthesis layer's activation (the StyleGAN2 counterpart of the paper's
AdaIN layers), bilinearly up-sampled to the mask resolution and concatenated — computed only at the pixel
coordinates asked for, so the N x H x W x C tensor of the reference (42.7 GB for faces) never exists.

The maps are read with forward hooks on the synthesis layers: the generator's code and outputs are
unchanged. Up-sampling is the same as F.interpolate(mode="bilinear", align_corners=False) of each map
followed by indexing (tested), but costs 4 gathers of C values per pixel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from ganfactory.operators.stylegan.networks import Generator, SynthesisLayer


def synthesis_layers(G: Generator) -> list[SynthesisLayer]:
    """The synthesis layers in forward order (one at 4x4, two per higher resolution)."""
    return [m for m in G.synthesis.modules() if isinstance(m, SynthesisLayer)]


def feature_channels(G: Generator) -> int:
    """C: the length of one pixel's feature vector."""
    return sum(layer.out_channels for layer in synthesis_layers(G))


@contextlib.contextmanager
def capture_maps(G: Generator, *, dtype: torch.dtype) -> Iterator[list[Tensor]]:
    """Inside the block every synthesis forward appends each layer's output as [B, h, w, C] (`dtype`)."""
    maps: list[Tensor] = []

    def hook(_module: torch.nn.Module, _inputs: object, output: Tensor) -> None:
        # channels_last activations make this permute a view; the copy is the one we keep.
        maps.append(output.detach().permute(0, 2, 3, 1).to(dtype).contiguous())

    handles = [layer.register_forward_hook(hook) for layer in synthesis_layers(G)]
    try:
        yield maps
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def synthesize_with_maps(G: Generator, ws: Tensor, *, dtype: torch.dtype = torch.float32
                         ) -> tuple[Tensor, list[Tensor]]:
    """(images [B, C_img, R, R] in [-1, 1], per-layer maps [B, h, w, C_l]) for W+ latents [B, num_ws, w_dim].
    Noise is the generator's constant noise, so a latent always gives the same image and features."""
    with capture_maps(G, dtype=dtype) as maps:
        images = G.synthesis(ws, noise_mode="const").float()
    return images, list(maps)


def _axis(size: int, out: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """For each output coordinate: the two source indices and the weight of the second (align_corners=False)."""
    src = ((torch.arange(out, device=device, dtype=torch.float64) + 0.5) * (size / out) - 0.5).clamp_min(0)
    lo = src.floor().long().clamp_max(size - 1)
    hi = (lo + 1).clamp_max(size - 1)
    return lo, hi, (src - lo).float()


def pixel_features(maps: list[Tensor], *, image: Tensor, ys: Tensor, xs: Tensor, resolution: int) -> Tensor:
    """Features [P, C] (fp32) of pixels (image[p], ys[p], xs[p]) at mask `resolution`.

    maps: per layer [B, h, w, C_l] (any float dtype); image, ys, xs: long [P]. Each layer's map is sampled
    bilinearly as if up-sampled to resolution x resolution, without making the up-sampled map.
    """
    parts = []
    for layer_map in maps:
        size = layer_map.shape[1]
        if size == resolution:  # same resolution: plain indexing
            parts.append(layer_map[image, ys, xs].float())
            continue
        y0, y1, wy = (t[ys] for t in _axis(size, resolution, ys.device))
        x0, x1, wx = (t[xs] for t in _axis(size, resolution, xs.device))
        wy, wx = wy[:, None], wx[:, None]
        top = torch.lerp(layer_map[image, y0, x0].float(), layer_map[image, y0, x1].float(), wx)
        bottom = torch.lerp(layer_map[image, y1, x0].float(), layer_map[image, y1, x1].float(), wx)
        parts.append(torch.lerp(top, bottom, wy))
    return torch.cat(parts, dim=1)
