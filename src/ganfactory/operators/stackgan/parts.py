"""Part annotations carried through `stackgan-prepare --parts`, in CUB-200-2011's layout.

CUB ships `parts/parts.txt` (`<part id> <part name>`, the name may hold spaces) and `parts/part_locs.txt`
(`<image id> <part id> x y visible`, one line per image and part, x y in pixels, a part that is not visible
written as `0 0 0`). A custom dataset has no image ids yet, so the user's part_locs.txt names each image as
`<class>/<image>.<ext>` (as `--bounding-boxes` does); prepare writes OUT/parts/ with the ids of images.txt, in its
order, every part of every image (lines the user left out are written as not visible).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganfactory.errors import InputError

NAMES_FILE, LOCATIONS_FILE = "parts.txt", "part_locs.txt"
NOT_VISIBLE = (0.0, 0.0, 0)


@dataclass(frozen=True)
class PartAnnotations:
    """names: (part id, name) in the order of parts.txt; locations: image rel -> part id -> (x, y, visible)."""

    names: list[tuple[int, str]]
    locations: dict[str, dict[int, tuple[float, float, int]]]


def part_files(parts: Path, locations: Path | None = None) -> tuple[Path, Path]:
    """(parts.txt, part_locs.txt) of `--parts PATH [--part-locs FILE]`: PATH is a folder holding both files (CUB's
    parts/ folder) or parts.txt itself with part_locs.txt beside it. Raises InputError when either is missing."""
    parts = Path(parts)
    names = parts / NAMES_FILE if parts.is_dir() else parts
    locations = Path(locations) if locations is not None else names.parent / LOCATIONS_FILE
    for path in (names, locations):
        if not path.is_file():
            raise InputError(f"{path} does not exist; pass --parts a folder holding {NAMES_FILE} and "
                             f"{LOCATIONS_FILE} (CUB's parts/ folder), or {NAMES_FILE} with --part-locs FILE.")
    return names, locations


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, line) of every non-blank line of a UTF-8 text file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise InputError(f"{path} is not a readable UTF-8 text file; save it as UTF-8 text.") from None
    return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def read_part_names(path: Path) -> list[tuple[int, str]]:
    """parts.txt: `<part id> <name>` per line, ids positive and distinct. Raises InputError naming the line."""
    names: list[tuple[int, str]] = []
    seen: set[int] = set()
    for number, line in _numbered_lines(path):
        fields = line.split(maxsplit=1)
        if len(fields) != 2 or not fields[0].isdigit() or int(fields[0]) < 1:
            raise InputError(f"Line {number} of {path} is not '<part id> <part name>' (id a positive whole "
                             "number); fix that line.")
        part = int(fields[0])
        if part in seen:
            raise InputError(f"Line {number} of {path} repeats part id {part}; give each part its own id.")
        seen.add(part)
        names.append((part, fields[1].strip()))
    if not names:
        raise InputError(f"{path} lists no part; write one '<part id> <part name>' line per part.")
    return names


def _location(line: str) -> tuple[str, int, float, float, int] | None:
    """`<class>/<image>.<ext> <part id> x y visible` (the name may hold spaces) or None when malformed."""
    fields = line.rsplit(maxsplit=4)
    if len(fields) != 5 or not fields[1].isdigit() or fields[4] not in ("0", "1"):
        return None
    try:
        x, y = float(fields[2]), float(fields[3])
    except ValueError:
        return None
    return fields[0], int(fields[1]), x, y, int(fields[4])


def read_part_locations(path: Path, *, parts: dict[int, str], images: set[str],
                        names_file: Path) -> dict[str, dict[int, tuple[float, float, int]]]:
    """part_locs.txt keyed by `<class>/<image>.<ext>`. `images`: every image file found in DATA (also those
    prepare leaves out, whose lines are then dropped). Raises InputError naming the first bad line: malformed,
    an unknown image, an unknown part id, or an image and part given twice."""
    locations: dict[str, dict[int, tuple[float, float, int]]] = {}
    for number, line in _numbered_lines(path):
        parsed = _location(line)
        if parsed is None:
            raise InputError(f"Line {number} of {path} is not '<class>/<image> <part id> x y visible' (visible 0 "
                             "or 1); fix that line.")
        rel, part, x, y, visible = parsed
        if rel not in images:
            raise InputError(f"Line {number} of {path} names {rel}, which is not an image in DATA; write the "
                             "image as '<class>/<image>.<ext>' or remove the line.")
        if part not in parts:
            raise InputError(f"Line {number} of {path} names part {part}, which {names_file} does not list; add "
                             "the part there or fix the line.")
        image = locations.setdefault(rel, {})
        if part in image:
            raise InputError(f"Line {number} of {path} repeats part {part} of {rel}; keep one line per image "
                             "and part.")
        image[part] = (x, y, visible)
    return locations


def read_parts(parts: Path, *, images: set[str], locations: Path | None = None) -> PartAnnotations:
    """Both files of `--parts`, checked against the images of DATA (see read_part_locations)."""
    names_file, locations_file = part_files(parts, locations)
    names = read_part_names(names_file)
    return PartAnnotations(names=names, locations=read_part_locations(
        locations_file, parts=dict(names), images=images, names_file=names_file))


def part_lines(annotations: PartAnnotations, rels: list[str]) -> tuple[list[str], list[str]]:
    """(parts.txt rows, part_locs.txt rows) for the prepared images `rels` in images.txt order (id i = row i,
    1-based): every part of every image, in parts.txt order; a part without a line is written `0 0 0`."""
    names = [f"{part} {name}" for part, name in annotations.names]
    rows = []
    for image_id, rel in enumerate(rels, start=1):
        given = annotations.locations.get(rel, {})
        for part, _ in annotations.names:
            x, y, visible = given.get(part, NOT_VISIBLE)
            rows.append(f"{image_id} {part} {x:g} {y:g} {visible}")
    return names, rows
