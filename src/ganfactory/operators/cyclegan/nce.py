"""PatchNCE (Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image Translation") as pure functions.

A translated image's feature at a location (the query) should match the source's feature at the same location
(the positive) rather than the source's features at the other sampled locations (negatives, from the same image
only, as in CUT and FastCUT). Features come from several encoder layers of the generator, are sampled at the same
random locations in query and key maps, projected by a small MLP per layer and L2-normalised; the loss is the
cross-entropy of picking the positive among them at temperature 0.07. For unrelated features it is about
log(num_patches); it falls towards 0 as each query picks out its own positive. Everything here runs in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganfactory.operators.cyclegan.networks import ResnetGenerator

__all__ = ["l2_normalise", "patch_nce", "patch_nce_loss", "sample_locations", "take_patches"]

MASKED_LOGIT = -10.0  # the reference fills a query's similarity to its own key among the negatives with this


def sample_locations(feats: list[torch.Tensor], num_patches: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Per feature map [B, C, H, W]: min(num_patches, H*W) distinct flat locations, shared by the batch's images."""
    return [torch.randperm(f.shape[2] * f.shape[3], generator=generator)[:num_patches].to(f.device) for f in feats]


def take_patches(feats: list[torch.Tensor], locations: list[torch.Tensor]) -> list[torch.Tensor]:
    """[B, C, H, W] maps -> [B * P, C] feature vectors at the locations (image-major: image b's P rows together)."""
    return [f.permute(0, 2, 3, 1).flatten(1, 2)[:, ids].flatten(0, 1) for f, ids in zip(feats, locations)]


def l2_normalise(x: torch.Tensor) -> torch.Tensor:
    """Rows divided by their L2 norm (+1e-7, as the reference), in float32."""
    x = x.float()
    return x / (x.norm(dim=1, keepdim=True) + 1e-7)


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, *, batch_size: int,
                   temperature: float = 0.07) -> torch.Tensor:
    """Per-query InfoNCE loss [B * P] for normalised query and key rows [B * P, D] of `batch_size` images.

    Logits: the query's dot product with its own key (positive) and with the other P - 1 keys of the same image
    (negatives; its own key among those is masked to -10 / T); all divided by `temperature`. Keys are constants.
    """
    key = key.detach()
    dim = query.shape[1]
    positive = (query * key).sum(1, keepdim=True)
    q, k = query.view(batch_size, -1, dim), key.view(batch_size, -1, dim)
    patches = q.shape[1]
    negatives = torch.bmm(q, k.transpose(1, 2))
    diagonal = torch.eye(patches, dtype=torch.bool, device=query.device)[None]
    negatives = negatives.masked_fill(diagonal, MASKED_LOGIT).view(-1, patches)
    logits = torch.cat([positive, negatives], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=query.device), reduction="none")


def patch_nce(generator: ResnetGenerator, heads: nn.Module, source: torch.Tensor, translated: torch.Tensor, *,
              layers: list[int], num_patches: int, temperature: float, sampler: torch.Generator,
              flipped: bool = False) -> torch.Tensor:
    """PatchNCE between `source` images and their `translated` images, averaged over the encoder `layers`.

    Queries are the generator's encoder features of `translated` (gradients flow into the generator and the
    heads); keys are those of `source`, taken without gradients (the loss treats them as constants). `flipped`:
    `translated` was made from the x-flipped source (FastCUT's flip equivariance), so its features are flipped
    back before sampling. The reference's lambda_NCE is the caller's to apply.
    """
    queries = generator.encode(translated, layers)
    if flipped:
        queries = [q.flip(3) for q in queries]
    with torch.no_grad():
        keys = generator.encode(source, layers)
        locations = sample_locations(keys, num_patches, sampler)
        key_rows = [l2_normalise(k) for k in heads(take_patches(keys, locations))]
    query_rows = [l2_normalise(q) for q in heads(take_patches(queries, locations))]
    batch = source.shape[0]
    per_layer = [patch_nce_loss(q, k, batch_size=batch, temperature=temperature).mean()
                 for q, k in zip(query_rows, key_rows)]
    return torch.stack(per_layer).mean()
