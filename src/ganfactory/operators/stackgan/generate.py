"""Images from sentences: `--generate-num` per caption into Data/ (Data/<class>/ when the caption's class is
known), one manifest line each with the caption, its class, the seed and the checkpoint. Image i of a caption
uses seed `--seed` + i, so one seed gives the same noise under every caption; a rerun skips what is written."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ganfactory.engine.precision import FP32, Precision
from ganfactory.engine.signals import StopRequest
from ganfactory.errors import InputError
from ganfactory.operators.stackgan.models import noise
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import ManifestWriter, class_annotation, make_entry, stable_id

log = logging.getLogger(__name__)
BATCH = 16


class ImagePipeline(Protocol):
    """models.TextToImage (torch) or onnx.OnnxTextToImage: (embedding, z, eps1, eps2) -> images in [-1, 1]."""

    def to(self, device: torch.device) -> Any: ...

    def __call__(self, embedding: torch.Tensor, z: torch.Tensor, eps1: torch.Tensor,
                 eps2: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class CaptionRequest:
    text: str
    class_name: str | None
    embedding: np.ndarray  # [D]


def read_captions_file(path: Path) -> list[str]:
    """The non-empty lines of a UTF-8 file. Raises InputError (one sentence)."""
    try:
        lines = [line.strip() for line in Path(path).read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--captions {path} cannot be read as UTF-8 text ({type(exc).__name__}); pass a text "
                         "file with one sentence a line.") from None
    if not lines:
        raise InputError(f"--captions {path} holds no sentence; write one sentence a line.")
    return lines


def captions_from_file(path: Path, encoder_name: str) -> list[CaptionRequest]:
    from ganfactory.operators.stackgan.encoder import load_encoder

    if encoder_name.startswith("char-CNN-RNN"):
        raise InputError("This model was trained on the reference's char-CNN-RNN embeddings, which ganfactory cannot "
                         "compute; generate from the test split (no --captions) or pass --encoder.")
    texts = read_captions_file(path)
    embeddings = load_encoder(encoder_name or None).encode(texts)
    return [CaptionRequest(text, None, e) for text, e in zip(texts, embeddings)]


@torch.no_grad()
def generate_from_captions(pipeline: ImagePipeline, requests: list[CaptionRequest], *, run: RunFolder, count: int,
                           seed: int, z_dim: int, condition_dim: int, device: torch.device, image_format: str,
                           provenance: dict[str, Any], precision: Precision = FP32,
                           stop: StopRequest | None = None) -> int:
    """Write `count` images per caption; returns how many files were written now. `precision`: what the
    pipeline computes in (an ONNX pipeline: engine.precision.EXPORTED; see precision_for_model), recorded
    in every manifest line since the last bits of an image depend on it. Raises RunInterrupted (exit 75)
    between batches once `stop` is set (SIGTERM, Ctrl-C, the job worker)."""
    provenance = {**provenance, "precision": precision.name}
    pipeline = pipeline.to(device).eval()
    jobs = [(c, i) for c in range(len(requests)) for i in range(count)]
    written = 0
    with ManifestWriter(run.manifest_path) as manifest:
        todo = [(c, i) for c, i in jobs if not _done(run, requests[c], c, i, seed, image_format, manifest)]
        for start in range(0, len(todo), BATCH):
            if stop is not None:
                stop.raise_if_set(f"writing {written} images into {run.data_dir}")
            part = todo[start:start + BATCH]
            z, eps1, eps2 = noise([seed + i for _, i in part], z_dim=z_dim, condition_dim=condition_dim)
            embedding = torch.from_numpy(np.stack([requests[c].embedding for c, _ in part]))
            with precision.autocast():
                images = pipeline(embedding.to(device), z.to(device), eps1.to(device), eps2.to(device))
            images = to_uint8(images.float())
            for (c, i), image in zip(part, images):
                _write(run, manifest, image, requests[c], c, seed + i, image_format, provenance)
                written += 1
    log.info("Wrote %d images to %s.", written, run.data_dir)
    return written


def _path(run: RunFolder, request: CaptionRequest, index: int, seed: int, image_format: str) -> Path:
    return run.class_dir(request.class_name) / f"caption{index:05d}_seed{seed:08d}.{image_format}"


def _done(run: RunFolder, request: CaptionRequest, index: int, i: int, seed: int, image_format: str,
          manifest: ManifestWriter) -> bool:
    path = _path(run, request, index, seed + i, image_format)
    return path.exists() and stable_id("stackgan", path.relative_to(run.root)) in manifest


def _write(run: RunFolder, manifest: ManifestWriter, image: torch.Tensor, request: CaptionRequest, index: int,
           seed: int, image_format: str, provenance: dict[str, Any]) -> None:
    path = save_image(image, _path(run, request, index, seed, image_format), image_format=image_format)
    annotations = [class_annotation(request.class_name)] if request.class_name else []
    manifest.append(make_entry(entry_id=stable_id("stackgan", path.relative_to(run.root)), source=path.resolve(),
                               annotations=annotations, operator="stackgan", caption=request.text,
                               caption_index=index, seed=seed, **provenance))
