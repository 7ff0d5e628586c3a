"""The run folders the console knows: those under the --runs folders plus those of the queue's jobs.

A run is named in URLs by a short id (a hash of its real path), never by a path, so a URL can only ever
point at a folder this list contains.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from ganfactory.output.layout import RUN_MARKERS

log = logging.getLogger(__name__)

# Any one of these marks a run folder (a DatasetGAN sample folder has only annotation/).
MARKERS = (*RUN_MARKERS, "annotation")
SEARCH_DEPTH = 2  # --runs DIR finds DIR itself, DIR/<run> and DIR/<group>/<run>


@dataclass(frozen=True)
class KnownRun:
    id: str
    root: Path  # resolved

    @property
    def name(self) -> str:
        return self.root.name


def run_id(root: Path) -> str:
    return hashlib.sha1(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def is_run_folder(folder: Path) -> bool:
    try:
        return folder.is_dir() and any((folder / marker).exists() for marker in MARKERS)
    except OSError:
        return False


def _search(folder: Path, depth: int) -> list[Path]:
    if is_run_folder(folder):
        return [folder]
    if depth == 0:
        return []
    try:
        children = sorted(child for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))
    except OSError:
        return []
    return [run for child in children for run in _search(child, depth - 1)]


def discover_runs(roots: tuple[Path, ...], extra: list[Path]) -> list[KnownRun]:
    """Runs under `roots` and the `extra` folders (the jobs' run folders, which may not exist yet), deduplicated."""
    seen: dict[str, KnownRun] = {}
    for folder in [found for root in roots for found in _search(root.expanduser(), SEARCH_DEPTH)] + extra:
        resolved = folder.expanduser().resolve()
        seen.setdefault(str(resolved), KnownRun(id=run_id(resolved), root=resolved))
    return list(seen.values())
