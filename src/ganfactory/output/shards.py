"""Generation split across machines: shard K of N writes its share of the seeds into the one OUT.

Shard K/N owns the image indices i with i % N == K - 1 within every class, so the N shards together make exactly
the seeds one unsharded run makes, none twice. Each shard keeps its own manifest (`OUT/shards/K-of-N.manifest`,
resumable like output_0.manifest: a rerun skips what it lists) and, once complete, a marker with the fingerprint of
what it generated. The shard that completes the set (all N markers, one fingerprint) merges the shard manifests into
`output_0.manifest` in the unsharded order, atomically; a concurrent merge writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganfactory.output.atomic import atomic_write_text
from ganfactory.output.manifest import iter_manifest

log = logging.getLogger(__name__)

SHARDS_DIR = "shards"
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # K, from 1
    count: int  # N

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'K/N' with 1 <= K <= N; ValueError with the fix otherwise."""
        match = _SHARD.match(text)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            raise ValueError(f"--shard must be K/N with 1 <= K <= N (e.g. 2/3), not {text!r}")
        return cls(index=int(match.group(1)), count=int(match.group(2)))

    @property
    def name(self) -> str:
        return f"{self.index}-of-{self.count}"

    def owns(self, image_index: int) -> bool:
        return image_index % self.count == self.index - 1

    def share(self, total: int) -> int:
        """How many of the indices 0 .. total - 1 this shard owns."""
        return len(range(self.index - 1, total, self.count))

    def manifest_path(self, root: Path) -> Path:
        return root / SHARDS_DIR / f"{self.name}.manifest"

    def marker_path(self, root: Path) -> Path:
        return root / SHARDS_DIR / f"{self.name}.done"


def fingerprint(determinants: dict[str, Any]) -> str:
    """What the shards must agree on before their manifests are merged (model, seed, counts, truncation ...)."""
    return hashlib.sha256(json.dumps(determinants, sort_keys=True, default=str).encode()).hexdigest()


def start_shard(root: Path, shard: Shard) -> Path:
    """Before a shard generates: its old marker goes (it is not complete until this run says so); returns the
    shard's manifest path."""
    (root / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
    shard.marker_path(root).unlink(missing_ok=True)
    return shard.manifest_path(root)


def complete_shard(root: Path, shard: Shard, *, print_: str) -> bool:
    """Mark this shard complete; True when the whole set is (all N markers carry the same fingerprint)."""
    atomic_write_text(shard.marker_path(root), print_ + "\n")
    waiting = [s.name for s in _siblings(shard) if _marker(root, s) != print_]
    if waiting:
        log.info("Shard %s is complete; the shards are merged when shard(s) %s complete too.", shard.name,
                 ", ".join(waiting))
    return not waiting


def shard_entries(root: Path, shard: Shard) -> dict[str, dict[str, Any]]:
    """Every line of the set's shard manifests, by id."""
    entries: dict[str, dict[str, Any]] = {}
    for each in _siblings(shard):
        path = each.manifest_path(root)
        if path.exists():
            entries.update((entry["id"], entry) for entry in iter_manifest(path))
    return entries


def finish_shard(root: Path, shard: Shard, *, print_: str, manifest_path: Path) -> bool:
    """Mark this shard complete, and merge every shard's manifest into output_0.manifest when the set is complete
    (all N markers carry the same fingerprint `print_`). Returns whether this call merged."""
    if not complete_shard(root, shard, print_=print_):
        return False
    ordered = sorted(shard_entries(root, shard).values(), key=_unsharded_order)
    atomic_write_text(manifest_path, "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in ordered))
    log.info("All %d shards complete: merged %d lines into %s.", shard.count, len(ordered), manifest_path)
    return True


def _siblings(shard: Shard) -> list[Shard]:
    return [Shard(index=k, count=shard.count) for k in range(1, shard.count + 1)]


def _marker(root: Path, shard: Shard) -> str | None:
    try:
        return shard.marker_path(root).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _unsharded_order(entry: dict[str, Any]) -> tuple[int, int]:
    # An unsharded run writes class by class, seeds in order.
    class_index = entry.get("class_index")
    return (-1 if class_index is None else int(class_index), int(entry.get("seed") or 0))
