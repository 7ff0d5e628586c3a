"""Output names derived from input names, made unique: `img000.png` and `img000.jpg` in one folder must not
both become `Data/img000.png` (the second would overwrite the first and be counted twice)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def _candidate_stems(source: Path, stem: str) -> Iterator[str]:
    """The wanted stem, then the stem with the input's extension (`a_jpg`), then numbered (`a_jpg_2`)."""
    yield stem
    extension = source.suffix.lstrip(".").lower() or "file"
    yield f"{stem}_{extension}"
    counter = 1
    while True:
        yield f"{stem}_{extension}_{counter}"
        counter += 1


def unique_output_paths(sources: Iterable[Path], wanted: Callable[[Path], Path]) -> dict[Path, Path]:
    """Each source's output path: `wanted(source)` unless an earlier source already took that name in the same
    folder, then the first free candidate of `_candidate_stems`. Deterministic for the same sources in the same
    order (callers pass them sorted); names are compared case-insensitively (case-insensitive file systems)."""
    taken: set[tuple[Path, str]] = set()
    result: dict[Path, Path] = {}
    for source in sources:
        path = wanted(source)
        for stem in _candidate_stems(source, path.stem):
            candidate = path.with_name(stem + path.suffix)
            key = (candidate.parent, candidate.name.lower())
            if key not in taken:
                taken.add(key)
                result[source] = candidate
                break
    return result
