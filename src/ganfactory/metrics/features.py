"""Features of every image of a folder, through the feature cache: what all metrics are computed from."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.data.imageio import load_image, pil_to_tensor
from ganfactory.engine.signals import RunInterrupted, StopRequest
from ganfactory.errors import InputError
from ganfactory.metrics.cache import FeatureCache, content_hash, default_cache_dir
from ganfactory.metrics.network import FeatureNetwork, NetworkIdentity

log = logging.getLogger(__name__)

THUMB_SIZE = 32  # side of the RGB thumbnails kept for the pixel measure and the contact sheets
CHUNK = 64  # images decoded, resized and run at a time (a stop keeps every finished chunk)
# Chunks decoded and resized ahead of the network: one is enough (decoding a chunk takes a fraction of running the
# network on it) and keeps the prepared inputs to two chunks (~140 MB at 299 px). 0: decode in turn with the network.
PREFETCH = 1

Rows = dict[str, tuple[np.ndarray, np.ndarray]]  # image sha256 -> (features [D], thumbnail [3, 32, 32])


@dataclass
class FeatureSet:
    """features[i] (float32 [D]) and thumbs[i] (uint8 [3, 32, 32]) belong to files[i] of class labels[i]."""

    features: np.ndarray
    thumbs: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    files: list[Path]
    network: NetworkIdentity
    reused: int  # rows taken from the cache

    def __len__(self) -> int:
        return len(self.files)

    def of_class(self, name: str) -> np.ndarray:
        """Indices of the images of class `name` (empty when absent)."""
        if name not in self.class_names:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.labels == self.class_names.index(name))


def thumbnail(image: Image.Image) -> np.ndarray:
    """uint8 [3, 32, 32]: the whole image squeezed to a square (box filter, so no aliasing)."""
    small = image.convert("RGB").resize((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8).transpose(2, 0, 1).copy()


def folder_features(root: Path, classes: dict[str, list[Path]], *, network: FeatureNetwork,
                    cache_dir: Path | None = None, stop: StopRequest | None = None) -> FeatureSet:
    """Features of the images in `classes` (class name -> files), reusing cached rows with the same bytes.

    Unreadable files are skipped with a warning. Raises InputError when no image can be read, and RunInterrupted
    (exit 75) after the chunk in hand once `stop` is set (SIGTERM, Ctrl-C): the rows computed so far are cached
    first, so the same command goes on from there.
    """
    cache = FeatureCache(cache_dir=cache_dir or default_cache_dir(), folder=root,
                         network_sha256=network.identity.sha256, input_size=network.identity.input_size,
                         precision=network.identity.precision)
    rows: Rows = {}
    todo: dict[str, tuple[bytes, Path]] = {}
    entries = []  # (digest, path, label) of every readable file, in class then file order
    for label, paths in enumerate(classes.values()):
        for path in paths:
            data = _read(path)
            if data is None:
                continue
            digest = content_hash(data)
            cached = cache.get(digest) if digest not in rows and digest not in todo else None
            if cached is not None:
                rows[digest] = cached
            elif digest not in rows:
                todo.setdefault(digest, (data, path))
            entries.append((digest, path, label))
    try:
        _compute(list(todo.items()), network, rows, stop=stop)
    except RunInterrupted:
        _write_cache(cache, rows)
        raise
    entries = [entry for entry in entries if entry[0] in rows]  # files that failed to decode drop out here
    if not entries:
        raise InputError(f"No readable image in {root}; add images or point to the right folder.")
    features = np.stack([rows[digest][0] for digest, _, _ in entries])
    thumbs = np.stack([rows[digest][1] for digest, _, _ in entries])
    files = [path for _, path, _ in entries]
    labels = [label for _, _, label in entries]
    _write_cache(cache, rows)
    log.info("features of %d images of %s (%d from the cache)", len(files), root, cache.hits)
    return FeatureSet(features=features, thumbs=thumbs, labels=np.asarray(labels, dtype=np.int64),
                      class_names=list(classes), files=files, network=network.identity, reused=cache.hits)


def _write_cache(cache: FeatureCache, rows: Rows) -> None:
    if rows:
        unique = sorted(rows)
        cache.write(unique, np.stack([rows[h][0] for h in unique]), np.stack([rows[h][1] for h in unique]))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        log.warning("Skipping %s: %s", path, exc.strerror or exc)
        return None


def _decode(data: bytes, path: Path) -> Image.Image | None:
    try:
        return load_image(data, channels=3, name=path)
    except InputError as exc:
        log.warning("Skipping %s", exc)
        return None


def _compute(todo: list[tuple[str, tuple[bytes, Path]]], network: FeatureNetwork, rows: Rows, *,
             stop: StopRequest | None = None) -> None:
    """Features and thumbnails of the images not in the cache, added to `rows` as they are made (so a stop between
    chunks keeps them); RunInterrupted once `stop` is set. A worker thread decodes, resizes and thumbnails the
    next PREFETCH chunks while the network runs on this one, so the network never waits for the files (and at
    most PREFETCH + 1 chunks of prepared images are in memory)."""
    chunk = CHUNK
    starts = list(range(0, len(todo), chunk))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganfactory-decode")
    try:
        ahead = deque(pool.submit(_prepare_chunk, todo[start:start + chunk], network) for start in starts[:PREFETCH])
        for number, start in enumerate(starts):
            if stop is not None:
                stop.raise_if_set(f"the features of {start} of {len(todo)} new images (cached)")
            pending = ahead.popleft() if ahead else pool.submit(_prepare_chunk, todo[start:start + chunk], network)
            digests, thumbs, batch = pending.result()
            if PREFETCH and number + PREFETCH < len(starts):
                following = starts[number + PREFETCH]
                ahead.append(pool.submit(_prepare_chunk, todo[following:following + chunk], network))
            for digest, thumb, row in zip(digests, thumbs, network.extract_prepared(batch)):
                rows[digest] = (row, thumb)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _prepare_chunk(todo: list[tuple[str, tuple[bytes, Path]]],
                   network: FeatureNetwork) -> tuple[list[str], list[np.ndarray], torch.Tensor]:
    """Decode a chunk (unreadable files are skipped with a warning), thumbnail it and prepare the network's input:
    (digests, thumbnails uint8 [3, 32, 32], float32 [N, 3, S, S])."""
    decoded = [(digest, _decode(data, path)) for digest, (data, path) in todo]
    kept = [(digest, image) for digest, image in decoded if image is not None]
    batch = network.prepare([pil_to_tensor(image) for _, image in kept])
    return [digest for digest, _ in kept], [thumbnail(image) for _, image in kept], batch
