"""Data folders in, tensors out: discovery, validation, preparation, image IO and in-memory datasets.

Names are imported on first use, so `ganfactory validate` and `prepare` do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "run_validate": "commands",
    "ImageFolderData": "dataset", "from_float": "dataset", "iter_image_batches": "dataset",
    "load_image_folder": "dataset", "to_float": "dataset",
    "DiscoveredDataset": "discovery", "SkippedFile": "discovery", "discover_images": "discovery",
    "list_image_files": "discovery",
    "IMAGE_EXTENSIONS": "imageio", "fit": "imageio", "is_image_file": "imageio", "load_image": "imageio",
    "parse_color": "imageio", "pil_to_tensor": "imageio", "resize": "imageio",
    "to_square": "imageio",
    "DroppedFile": "prepare", "PreparedFile": "prepare", "PrepareReport": "prepare", "prepare_dataset": "prepare",
    "ClassSummary": "validation", "FileIssue": "validation", "ValidationReport": "validation",
    "readable_files": "validation", "validate_dataset": "validation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganfactory.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ganfactory.data.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
