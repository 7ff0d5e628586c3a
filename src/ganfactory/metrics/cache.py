"""A feature cache per image folder, whose rows are keyed by each image file's content hash.

One file per (folder, network, input size, precision, preprocessing version) under `<home>/cache/features/`
(the fp32 paths share one file: their features agree to ~1e-5; bf16 rows get their own); a row is reused
whenever an image with the same bytes is still in the folder, so re-evaluating a folder costs one read of
its files, and adding images costs only the new ones. The input folder itself is never written to. Writes
are atomic (temp file, fsync, rename), so a killed run leaves the old cache or the new one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from ganfactory.output.atomic import atomic_write

log = logging.getLogger(__name__)

HOME_ENV = "GANFACTORY_HOME"
# Bump when the preprocessing (resize rule, value range, thumbnails) changes, so old rows are not reused.
PREPROCESSING_VERSION = "1"


def default_cache_dir() -> Path:
    """`$GANFACTORY_HOME/cache/features`, else `~/.ganfactory/cache/features`."""
    home = Path(os.environ.get(HOME_ENV) or "~/.ganfactory").expanduser()
    return home / "cache" / "features"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FeatureCache:
    """Rows (features float32 [D], thumbnail uint8 [3, T, T]) by image content hash, for one folder and network."""

    def __init__(self, *, cache_dir: Path, folder: Path, network_sha256: str, input_size: int,
                 precision: str = "fp32") -> None:
        parts = [str(Path(folder).resolve()), network_sha256, str(input_size), PREPROCESSING_VERSION]
        if precision != "fp32":  # fp32 keys stay as they were, so caches written before precisions still count
            parts.append(precision)
        key = "|".join(parts)
        self.path = Path(cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"
        self._rows: dict[str, tuple[np.ndarray, np.ndarray]] = self._read()
        self.hits = 0

    def _read(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                hashes, features, thumbs = data["hashes"], data["features"], data["thumbs"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("Ignoring the unreadable feature cache %s (%s); it will be rebuilt.", self.path, exc)
            return {}
        return {str(h): (f, t) for h, f, t in zip(hashes, features, thumbs)}

    def get(self, digest: str) -> tuple[np.ndarray, np.ndarray] | None:
        row = self._rows.get(digest)
        self.hits += row is not None
        return row

    def write(self, hashes: list[str], features: np.ndarray, thumbs: np.ndarray) -> Path:
        """Replace the cache with exactly these rows (the folder's current images), atomically."""
        def save(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a file object, so numpy does not append ".npz" to the temp name
                np.savez(handle, hashes=np.asarray(hashes, dtype="U64"), features=features.astype(np.float32),
                         thumbs=thumbs.astype(np.uint8))
        return atomic_write(self.path, save)
