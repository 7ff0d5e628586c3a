"""Fixtures that build small image folders on disk for the data tests.

Helpers are handed out through the `kit` fixture (tests/ has no packages, so nothing imports conftest).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


class ImageKit:
    """Image makers and a tree hash for the tests."""

    @staticmethod
    def noise(seed: int, size: tuple[int, int] = (32, 32), mode: str = "RGB") -> Image.Image:
        """A smooth random image: distinct seeds give perceptually distinct images."""
        rng = np.random.default_rng(seed)
        coarse = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        return Image.fromarray(coarse).resize(size, Image.Resampling.BILINEAR).convert(mode)

    @staticmethod
    def save(img: Image.Image, path: Path, **kwargs) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, **kwargs)
        return path

    @staticmethod
    def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, format=fmt, **kwargs)
        return buffer.getvalue()

    @staticmethod
    def write(path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    @staticmethod
    def tree_digest(root: Path) -> dict[str, str]:
        """Relative path -> sha256 of every file under root (catches changed, added and removed files)."""
        return {
            str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            for path in sorted(root.rglob("*"))
        }


@pytest.fixture
def kit() -> ImageKit:
    return ImageKit()


@pytest.fixture
def make_folder(tmp_path: Path) -> Callable[..., Path]:
    """make_folder({'cats': 3, 'dogs': 2}) builds a dual-level folder; make_folder({None: 4}) a single-level one."""
    seeds = iter(range(100_000))

    def build(classes: dict[str | None, int], *, name: str = "data", size: tuple[int, int] = (32, 32),
              ext: str = ".png") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        for class_name, count in classes.items():
            folder = root if class_name is None else root / class_name
            for index in range(count):
                ImageKit.save(ImageKit.noise(next(seeds), size), folder / f"img_{index:03d}{ext}")
        return root

    return build
