"""The ModelArts-style manifest: UTF-8 JSON lines, one object per generated file.

Appends are whole lines written with one O_APPEND write; a line torn by a crash is cut off when the
manifest is next opened, and ids already present are never written again, so a resumed run adds no
duplicates; duplicate lines found on opening (one id written twice) are repaired at the first flush.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ganfactory.errors import GanFactoryError, InputError
from ganfactory.output.atomic import atomic_write_text, disk_full_error
from ganfactory.output.pathtext import name_bytes, utf8_text

log = logging.getLogger(__name__)

CLASSIFICATION = "modelarts/image_classification"
SEGMENTATION = "modelarts/image_segmentation"
REQUIRED_FIELDS = ("id", "source", "usage", "annotation")
_ID_NAMESPACE = uuid.UUID("7b1d0c4e-4c1f-4f43-9a53-6a1f7c2b9e10")


def stable_id(*parts: object) -> str:
    """The same generated file always gets the same id (uuid5 of what identifies it).

    uuid.uuid5 itself would encode the name strictly as UTF-8 and fail on a file name that is not;
    this is the same RFC 4122 computation on the name's own bytes (equal ids for every valid name).
    """
    name = name_bytes("/".join(str(p) for p in parts))
    return str(uuid.UUID(bytes=hashlib.sha1(_ID_NAMESPACE.bytes + name).digest()[:16], version=5))


def make_entry(*, entry_id: str, source: Path | str, annotations: Iterable[dict[str, Any]],
               usage: str = "train", **provenance: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": entry_id, "source": str(source), "usage": usage, "annotation": list(annotations)}
    entry.update({"synthetic": True, **provenance})
    return entry


def class_annotation(class_name: str) -> dict[str, str]:
    return {"name": class_name, "type": CLASSIFICATION}


def validate_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InputError(f"{where} is not a JSON object; every manifest line must be one object.")
    missing = [name for name in REQUIRED_FIELDS if name not in entry]
    if missing:
        raise InputError(f"{where} lacks the field(s) {', '.join(missing)}; every line needs "
                         f"{', '.join(REQUIRED_FIELDS)}.")
    if not isinstance(entry["annotation"], list) or not all(
            isinstance(a, dict) and "name" in a and "type" in a for a in entry["annotation"]):
        raise InputError(f"{where} has an 'annotation' that is not a list of {{name, type}} objects.")
    return entry


def iter_manifest(path: Path) -> Iterator[dict[str, Any]]:
    """Read and validate every line; a bad line is an error naming its number."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"Line {number} of {path} is not valid JSON; remove or repair that line.") from None
            yield validate_entry(entry, f"Line {number} of {path}")


def read_manifest(path: Path) -> list[dict[str, Any]]:
    return list(iter_manifest(path))


def _cut_torn_tail(path: Path) -> None:
    """A crash can leave a last line without its newline: drop that fragment, keep every whole line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        log.warning("Removing a torn last line from %s (left by an interrupted run).", path)
        handle.truncate(keep)


def cited_checkpoints(path: Path) -> set[str]:
    """The checkpoint file names the manifest's lines cite (the keep-N rule must not delete them)."""
    if not Path(path).exists():
        return set()
    return {str(entry["checkpoint"]) for entry in iter_manifest(path) if entry.get("checkpoint")}


def is_current(entry: dict[str, Any] | None, determinants: dict[str, Any]) -> bool:
    """True when a line records exactly these values of what determines its file (model, seed, truncation,
    class, source file ...): the file is already there as asked; otherwise it is stale or missing."""
    return entry is not None and all(entry.get(key) == value for key, value in determinants.items())


class ManifestWriter:
    """Appends entries, skipping ids that are already in the file; `replace` swaps a stale line for a new one
    (the whole file rewritten atomically at `flush`, so a reader never sees a half-replaced manifest)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        _cut_torn_tail(self.path)
        lines = list(iter_manifest(self.path)) if self.path.exists() else []
        self._entries = {entry["id"]: entry for entry in lines}
        # two writers at once (before OUT was locked) left one id on several lines: the next flush repairs that
        self._replaced = len(lines) > len(self._entries)
        if self._replaced:
            log.warning("Removing %d duplicate lines from %s (one line per id, the last one kept).",
                        len(lines) - len(self._entries), self.path)
        self._fd = self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> dict[str, Any] | None:
        return self._entries.get(entry_id)

    def append(self, entry: dict[str, Any]) -> bool:
        """Write one line; False when an entry with that id is already there."""
        validate_entry(entry, "A new manifest entry")
        if entry["id"] in self._entries:
            return False
        line = utf8_text(json.dumps(entry, ensure_ascii=False) + "\n")
        try:
            os.write(self._fd, line)
        except OSError as exc:
            raise disk_full_error(self.path, exc) from exc
        self._entries[entry["id"]] = entry
        return True

    def put(self, entry: dict[str, Any]) -> None:
        """Append a new id, or replace the line of a known id in place (written at the next `flush`)."""
        validate_entry(entry, "A new manifest entry")
        if entry["id"] not in self._entries:
            self.append(entry)
        elif self._entries[entry["id"]] != entry:
            self._entries[entry["id"]] = entry
            self._replaced = True

    def remove(self, entry_id: str) -> bool:
        """Drop the line of `entry_id` (the file rewritten at the next `flush`); False when there is none."""
        if self._entries.pop(entry_id, None) is None:
            return False
        self._replaced = True
        return True

    def flush(self) -> None:
        """Write pending replacements: the whole manifest to a temporary file, then renamed over the old one."""
        if not self._replaced:
            return
        os.close(self._fd)
        self._fd = -1
        text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in self._entries.values())
        atomic_write_text(self.path, text)
        self._replaced = False
        self._fd = self._open()

    def close(self) -> None:
        self.flush()
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise GanFactoryError(f"Could not flush {self.path} ({exc.strerror}).") from exc
            finally:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
