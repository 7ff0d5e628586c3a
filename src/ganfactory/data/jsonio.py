"""JSON writing for the data reports: paths as strings, readable unicode, never a crash on odd names."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ganfactory.output.atomic import atomic_write_text


def plain(value: Any) -> Any:
    """Dataclasses, paths, tuples and sets turned into JSON-ready values, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """Indented JSON that keeps non-ASCII names readable."""
    return json.dumps(plain(data), indent=2, ensure_ascii=False)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename, the run folder's one writer) so a reader never sees half a report.

    File names that are not valid UTF-8 reach Python as lone surrogates; they are written as \\udcXX,
    which is itself a valid JSON escape, so the file stays valid and round-trips.
    """
    atomic_write_text(Path(path), dumps(data) + "\n")
