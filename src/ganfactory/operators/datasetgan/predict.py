"""Labelling whole images with the interpreter, a chunk of pixels at a time (so a 512 px image's
5,000-channel feature map is never whole: `pixel_chunk` pixels x C floats at most)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ganfactory.operators.datasetgan.ensemble import PixelEnsemble
from ganfactory.operators.datasetgan.features import pixel_features, synthesize_with_maps
from ganfactory.operators.datasetgan.uncertainty import ensemble_mode, image_score, js_uncertainty
from ganfactory.operators.stylegan.networks import Generator


@dataclass(frozen=True)
class Labelled:
    images: Tensor  # [B, C_img, R, R] in [-1, 1]
    masks: Tensor  # uint8 [B, R, R]: the members' per-pixel mode
    js: Tensor  # [B, R, R] Jensen-Shannon uncertainty per pixel (nats)
    scores: list[float]  # per image: mean JS of its most uncertain 10% of pixels


@torch.no_grad()
def label_latents(G: Generator, ensemble: PixelEnsemble, ws: Tensor, *, pixel_chunk: int) -> Labelled:
    """Images, masks and uncertainty for W+ latents ws [B, num_ws, w_dim]."""
    ensemble.eval()
    images, maps = synthesize_with_maps(G, ws)
    batch, size = images.shape[0], images.shape[-1]
    area = size * size
    device = images.device
    masks = torch.empty(batch * area, dtype=torch.uint8, device=device)
    js = torch.empty(batch * area, device=device)
    for start in range(0, batch * area, pixel_chunk):
        flat = torch.arange(start, min(start + pixel_chunk, batch * area), device=device)
        features = pixel_features(maps, image=flat // area, ys=(flat % area) // size, xs=flat % size,
                                  resolution=size)
        logits = ensemble(features)  # [M, P, K]
        masks[flat] = ensemble_mode(logits).to(torch.uint8)
        js[flat] = js_uncertainty(torch.softmax(logits.float(), dim=-1))
    masks, js = masks.view(batch, size, size).cpu(), js.view(batch, size, size).cpu()
    return Labelled(images=images.cpu(), masks=masks, js=js, scores=[image_score(j) for j in js])
