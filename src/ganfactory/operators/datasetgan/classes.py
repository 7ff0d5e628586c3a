"""classes.json: the label set of the annotation, [{"index": 0, "name": "background", "color": [0, 0, 0]}, ...]."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ganfactory.errors import InputError
from ganfactory.output.atomic import atomic_write_json

# Distinct colours for a template; the user may change them (RGB masks must then use theirs).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
    (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128))


class SegmentationClass(BaseModel):
    index: int = Field(ge=0, le=255)
    name: str = Field(min_length=1)
    color: tuple[int, int, int]


def template_classes(names: list[str]) -> list[SegmentationClass]:
    return [SegmentationClass(index=i, name=n, color=_colour(i)) for i, n in enumerate(names)]


def _colour(index: int) -> tuple[int, int, int]:
    if index < len(PALETTE):
        return PALETTE[index]
    return ((index * 97) % 256, (index * 57) % 256, (index * 23) % 256)


def write_classes(path: Path, classes: list[SegmentationClass]) -> Path:
    return atomic_write_json(path, [c.model_dump() for c in classes])


def read_classes(path: Path) -> list[SegmentationClass]:
    """Classes sorted by index; InputError (one sentence naming the file) for a missing or invalid file.
    Indices must be 0..K-1 and colours distinct, so index and RGB masks both map one-to-one to classes."""
    if not path.is_file():
        raise InputError(f"{path} does not exist; run 'ganfactory datasetgan sample' first, or write it as a "
                         "list of {index, name, color}.")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        classes = sorted((SegmentationClass(**item) for item in raw), key=lambda c: c.index)
    except (json.JSONDecodeError, TypeError, ValidationError) as exc:
        raise InputError(f"{path} is not a list of {{index, name, color}} objects ({type(exc).__name__}); "
                         "fix it after the template that 'datasetgan sample' writes.") from None
    if [c.index for c in classes] != list(range(len(classes))) or len(classes) < 2:
        raise InputError(f"{path} must number its classes 0, 1, 2, ... without gaps, with at least two classes.")
    if len({c.color for c in classes}) != len(classes) or len({c.name for c in classes}) != len(classes):
        raise InputError(f"{path} gives two classes the same name or colour; make each one distinct.")
    return classes
