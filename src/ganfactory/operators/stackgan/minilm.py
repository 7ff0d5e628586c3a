"""A BERT sentence encoder (mean pooling, L2 normalisation) computed from a sentence-transformers folder's own
files: `config.json`, `model.safetensors` and `tokenizer.json`. It gives the same vectors as
`sentence_transformers.SentenceTransformer(folder).encode(...)` for the BERT family (all-MiniLM-L6-v2 among them)
without importing `transformers` (~30 s of imports on a busy 2-core machine, for a 6-layer network).
Architecture: Devlin et al. 2019 (BERT), post-LayerNorm, erf GELU; pooling as Reimers & Gurevych 2019.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F


class BertLayer(nn.Module):
    """One post-LayerNorm transformer block; parameter names follow the Hugging Face BERT layout so the
    checkpoint's tensors load by name."""

    def __init__(self, *, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.attention = nn.ModuleDict({
            "self": nn.ModuleDict({name: nn.Linear(hidden, hidden) for name in ("query", "key", "value")}),
            "output": nn.ModuleDict({"dense": nn.Linear(hidden, hidden), "LayerNorm": nn.LayerNorm(hidden, eps=eps)}),
        })
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(hidden, intermediate)})
        self.output = nn.ModuleDict({"dense": nn.Linear(intermediate, hidden),
                                     "LayerNorm": nn.LayerNorm(hidden, eps=eps)})

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x: [B, T, H]; bias: [B, 1, 1, T] additive attention mask (0 or a large negative number)."""
        batch, tokens, hidden = x.shape
        attn = self.attention
        own, output = cast(nn.ModuleDict, attn["self"]), cast(nn.ModuleDict, attn["output"])  # nested ModuleDicts

        def split(name: str) -> torch.Tensor:
            return own[name](x).view(batch, tokens, self.heads, -1).transpose(1, 2)

        q, k, v = split("query"), split("key"), split("value")
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, tokens, hidden)
        x = output["LayerNorm"](x + output["dense"](context))
        inner = F.gelu(self.intermediate["dense"](x))  # BERT's "gelu" is the exact (erf) form
        return self.output["LayerNorm"](x + self.output["dense"](inner))


class BertMeanEncoder(nn.Module):
    """Token ids -> L2-normalised mean of the last hidden states over the real (unpadded) tokens: [B, H]."""

    def __init__(self, *, vocab: int, hidden: int, layers: int, heads: int, intermediate: int, positions: int,
                 type_vocab: int, eps: float) -> None:
        super().__init__()
        self.embeddings = nn.ModuleDict({
            "word_embeddings": nn.Embedding(vocab, hidden), "position_embeddings": nn.Embedding(positions, hidden),
            "token_type_embeddings": nn.Embedding(type_vocab, hidden), "LayerNorm": nn.LayerNorm(hidden, eps=eps)})
        self.encoder = nn.ModuleDict({"layer": nn.ModuleList(
            BertLayer(hidden=hidden, heads=heads, intermediate=intermediate, eps=eps) for _ in range(layers))})

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids, mask: int64 [B, T] (mask 1 for real tokens). Returns float32 [B, H] with unit norm."""
        emb = self.embeddings
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = emb["word_embeddings"](ids) + emb["position_embeddings"](positions)[None]
        x = emb["LayerNorm"](x + emb["token_type_embeddings"](torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in cast(nn.ModuleList, self.encoder["layer"]):
            x = layer(x, bias)
        weights = mask[..., None].float()
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)

    @classmethod
    def from_folder(cls, folder: Path) -> BertMeanEncoder:
        """Build from `config.json` and load `model.safetensors` (unused tensors such as the pooler are left out)."""
        from safetensors.torch import load_file

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        model = cls(vocab=config["vocab_size"], hidden=config["hidden_size"], layers=config["num_hidden_layers"],
                    heads=config["num_attention_heads"], intermediate=config["intermediate_size"],
                    positions=config["max_position_embeddings"], type_vocab=config["type_vocab_size"],
                    eps=config["layer_norm_eps"])
        tensors = load_file(str(folder / "model.safetensors"))
        tensors = {key.removeprefix("bert."): value for key, value in tensors.items()}
        wanted = model.state_dict().keys()
        model.load_state_dict({key: tensors[key] for key in wanted})
        return model.eval().requires_grad_(False)
