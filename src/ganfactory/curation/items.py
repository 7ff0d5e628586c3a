"""The generated images of a run, read from its manifest: what the gallery shows and the export copies."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ganfactory.errors import GanFactoryError
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import validate_entry

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class GalleryItem:
    """One generated file. path: relative to the run folder (POSIX); None when the manifest's source lies
    outside the run folder and cannot be found in its Data/ either."""

    id: str
    path: str | None
    class_name: str
    entry: dict[str, Any] = field(compare=False, repr=False)

    def number(self, key: str) -> float | None:
        """A numeric manifest field (top level, or inside a dict field as "outer.inner"); None when absent."""
        value: Any = self.entry
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _relative_source(root: Path, source: str) -> str | None:
    """The source as a path inside the run folder. A moved run folder keeps working: an absolute source
    outside it is looked up again under its Data/ by the part after the last 'Data' folder."""
    path = Path(source)
    if not path.is_absolute():
        return PurePosixPath(source).as_posix()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    moved = RunFolder.under_data(path)
    return PurePosixPath(moved).as_posix() if moved is not None else None


def _class_of(entry: dict[str, Any]) -> str:
    for annotation in entry.get("annotation", []):
        if isinstance(annotation, dict) and str(annotation.get("type", "")).endswith("image_classification"):
            return str(annotation.get("name", ""))
    return ""


def load_items(root: Path) -> list[GalleryItem]:
    """Every readable line of RUN's manifest in file order; a torn or invalid line is skipped
    (a run may be writing the manifest right now). Raises GanFactoryError when there is no manifest."""
    root = Path(root).resolve()
    path = RunFolder(root).manifest_path
    items: list[GalleryItem] = []
    skipped = 0
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise GanFactoryError(f"{root} has no {RunFolder(root).manifest_path.name} (no generated images yet); "
                              "wait for the run to generate, or pick another run folder.") from None
    except OSError as exc:
        raise GanFactoryError(f"Cannot read {path} ({exc.strerror}); check its permissions.") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = validate_entry(json.loads(line), f"Line {number} of {path}")
            except (ValueError, GanFactoryError):
                skipped += 1
                continue
            items.append(GalleryItem(id=str(entry["id"]), path=_relative_source(root, str(entry["source"])),
                                     class_name=_class_of(entry), entry=entry))
    if skipped:
        log.warning("Skipped %d unreadable line(s) of %s.", skipped, path)
    return items


def numeric_fields(items: list[GalleryItem], *, sample: int = 200) -> list[str]:
    """The manifest fields that hold numbers (seed, truncation, uncertainty, similarity, ...), for sorting."""
    names: set[str] = set()
    for item in items[:sample]:
        for key, value in item.entry.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                names.add(key)
            elif isinstance(value, dict):
                names.update(f"{key}.{k}" for k, v in value.items()
                             if isinstance(v, (int, float)) and not isinstance(v, bool))
    return sorted(names)
