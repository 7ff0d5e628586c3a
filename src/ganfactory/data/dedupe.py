"""Perceptual hashing for near-duplicate detection.

pHash: the 8x8 lowest frequencies of a 32x32 grayscale DCT, each bit telling whether a coefficient
is above the median. It survives re-encoding, small resizes and slight colour shifts, which is what
"the same picture saved twice" looks like in a scraped dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy.fft import dctn

HASH_BITS = 64


def perceptual_hash(img: Image.Image) -> int:
    """A 64-bit pHash of an image (any mode PIL can turn into 'L')."""
    small = img.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=3.0)
    coefficients = dctn(np.asarray(small, dtype=np.float64), type=2, norm="ortho")[:8, :8].ravel()
    # The DC term only measures overall brightness; leaving it out of the median keeps the bits balanced.
    bits = coefficients > np.median(coefficients[1:])
    return int(np.packbits(bits).view(">u8")[0])


def hamming_distance(first: int, second: int) -> int:
    """Number of differing bits between two hashes."""
    return (first ^ second).bit_count()


class NearDuplicateIndex:
    """The hashes kept so far, searchable for the closest one (a linear numpy scan: fine to ~10^5)."""

    def __init__(self) -> None:
        self._paths: list[Path] = []
        # A growing uint64 buffer, so a lookup does not convert every kept hash again.
        self._hashes = np.zeros(64, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, path: Path, phash: int) -> None:
        if len(self._paths) == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
        self._hashes[len(self._paths)] = phash
        self._paths.append(path)

    def nearest(self, phash: int) -> tuple[Path, int] | None:
        """The kept path closest to `phash` and its distance; None while the index is empty."""
        if not self._paths:
            return None
        differing = np.bitwise_xor(self._hashes[: len(self._paths)], np.uint64(phash))
        distances = np.unpackbits(differing.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        best = int(np.argmin(distances))
        return self._paths[best], int(distances[best])
