"""Perceptual hashing for near-duplicate detection.

pHash: the 8x8 lowest frequencies of a 32x32 grayscale DCT, each bit telling whether a coefficient
is above the median. It survives re-encoding, small resizes and slight colour shifts, which is what
"the same picture saved twice" looks like in a scraped dataset.

pHash ignores overall colour and brightness, so flat or nearly flat images of different colours
all hash alike; a near duplicate must therefore also have a similar mean colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.fft import dctn

HASH_BITS = 64
# Largest difference of mean channel value (0-255) between near duplicates: re-encoding and mild
# brightness edits stay well inside it, differently coloured flat images do not.
COLOUR_TOLERANCE = 12.0


@dataclass(frozen=True)
class ImageSignature:
    """What near-duplicate detection compares: structure (pHash) and overall colour."""

    phash: int
    mean_colour: tuple[float, float, float]


def image_signature(img: Image.Image) -> ImageSignature:
    """pHash plus the mean (R, G, B) of an image."""
    means = np.asarray(img.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)
    return ImageSignature(perceptual_hash(img), (float(means[0]), float(means[1]), float(means[2])))


def perceptual_hash(img: Image.Image) -> int:
    """A 64-bit pHash of an image (any mode PIL can turn into 'L')."""
    small = img.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=3.0)
    coefficients = dctn(np.asarray(small, dtype=np.float64), type=2, norm="ortho")[:8, :8].ravel()
    # The DC term only measures overall brightness; leaving it out of the median keeps the bits balanced.
    bits = coefficients > np.median(coefficients[1:])
    return int(np.packbits(bits).view(">u8")[0])


class NearDuplicateIndex:
    """The signatures kept so far, searchable for the closest one (a linear numpy scan: fine to ~10^5)."""

    def __init__(self) -> None:
        self._paths: list[Path] = []
        # Growing buffers, so a lookup does not convert every kept signature again.
        self._hashes = np.zeros(64, dtype=np.uint64)
        self._colours = np.zeros((64, 3), dtype=np.float64)

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, path: Path, signature: ImageSignature) -> None:
        count = len(self._paths)
        if count == len(self._hashes):
            self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
            self._colours = np.concatenate([self._colours, np.zeros_like(self._colours)])
        self._hashes[count] = signature.phash
        self._colours[count] = signature.mean_colour
        self._paths.append(path)

    def nearest(self, signature: ImageSignature) -> tuple[Path, int] | None:
        """The kept path of similar colour whose hash is closest, with the distance; None if there is none."""
        count = len(self._paths)
        if not count:
            return None
        differing = np.bitwise_xor(self._hashes[:count], np.uint64(signature.phash))
        distances = np.unpackbits(differing.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        colour_gap = np.abs(self._colours[:count] - np.asarray(signature.mean_colour)).max(axis=1)
        distances = np.where(colour_gap <= COLOUR_TOLERANCE, distances, HASH_BITS + 1)
        best = int(np.argmin(distances))
        return (self._paths[best], int(distances[best])) if distances[best] <= HASH_BITS else None
