"""The gallery's view of a run's items: filter by class and decision, sort by seed or a manifest metric, page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ganfactory.console.security import PathRefused, resolve_inside
from ganfactory.curation.decisions import Decision
from ganfactory.curation.items import GalleryItem

SHOW = ("all", "undecided", "accept", "reject")


@dataclass(frozen=True)
class GalleryQuery:
    class_name: str = ""  # "" = every class
    sort: str = ""  # "" = manifest order, else a numeric manifest field ("seed", "uncertainty", ...)
    descending: bool = False
    show: str = "all"
    page: int = 1


@dataclass(frozen=True)
class GalleryPage:
    items: list[GalleryItem]
    page: int
    pages: int
    matching: int


def select(items: list[GalleryItem], decisions: dict[str, Decision], query: GalleryQuery, *,
           page_size: int) -> GalleryPage:
    chosen = [item for item in items if not query.class_name or item.class_name == query.class_name]
    if query.show in ("accept", "reject"):
        chosen = [item for item in chosen if decisions.get(item.id) is Decision(query.show)]
    elif query.show == "undecided":
        chosen = [item for item in chosen if item.id not in decisions]
    if query.sort:
        # Items without the field go last in either direction; each key is read once (thousands of items).
        keyed = [(item.number(query.sort), item) for item in chosen]
        present = [(key, item) for key, item in keyed if key is not None]
        present.sort(key=lambda pair: pair[0], reverse=query.descending)
        chosen = [item for _, item in present] + [item for key, item in keyed if key is None]
    elif query.descending:
        chosen = chosen[::-1]
    pages = max(1, math.ceil(len(chosen) / page_size))
    page = min(max(query.page, 1), pages)
    start = (page - 1) * page_size
    return GalleryPage(items=chosen[start:start + page_size], page=page, pages=pages, matching=len(chosen))


def counts(items: list[GalleryItem], decisions: dict[str, Decision]) -> dict[str, int]:
    accepted = sum(1 for item in items if decisions.get(item.id) is Decision.ACCEPT)
    rejected = sum(1 for item in items if decisions.get(item.id) is Decision.REJECT)
    return {"accept": accepted, "reject": rejected, "undecided": len(items) - accepted - rejected,
            "total": len(items)}


# What a translation's manifest line names as its input (CycleGAN: operators/cyclegan/translate.py).
SOURCE_FIELD = "source_file"
INPUT_KEYS = ("source", "target", "data")  # config.json's input folders (CycleGAN: source and target)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class SourceImage:
    """The input image a manifest item was made from (CycleGAN: the image it translates)."""

    name: str  # the file's name, shown even when the file is not served
    path: Path | None  # the real file, when it may be served (see `find_source`)


def input_folders(config: Any) -> list[Path]:
    """The input folders a run's config.json records (CycleGAN: SOURCE and TARGET); a filesystem root is left out
    (no data folder is one, and it would open every image on the disk)."""
    if not isinstance(config, dict):
        return []
    folders = [Path(config[key]) for key in INPUT_KEYS if isinstance(config.get(key), str) and config[key]]
    return [folder for folder in folders if folder.is_absolute() and folder.resolve() != Path(folder.anchor)]


def find_source(entry: dict[str, Any], allowed: list[Path]) -> SourceImage | None:
    """The source image a manifest line records, or None when it records none. Its file is offered only when it
    is an existing image inside one of the `allowed` folders (known run folders, the run's recorded inputs),
    symlinks followed, by `resolve_inside`: a manifest is data, and its paths must not open the disk to the
    browser. Blocking (stats the file)."""
    recorded = entry.get(SOURCE_FIELD)
    if not isinstance(recorded, str) or not recorded:
        return None
    given = PurePath(recorded)
    if not given.is_absolute() or given.suffix.lower() not in IMAGE_SUFFIXES:
        return SourceImage(name=given.name, path=None)
    for folder in allowed:
        try:
            relative = Path(given).relative_to(folder.expanduser().resolve())
            return SourceImage(name=given.name, path=resolve_inside(folder, relative.as_posix()))
        except (ValueError, PathRefused, OSError):
            continue
    return SourceImage(name=given.name, path=None)
