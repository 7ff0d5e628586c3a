"""`ganfactory curate export RUN OUT`: copy the accepted images of a run to OUT with a manifest of them only.

OUT is a training-ready folder: OUT/<class>/<file> for a class-conditional run, OUT/<file> otherwise, plus
OUT/output_0.manifest (the run's lines for those images, `source` pointing at the copies). It is built in a
temporary sibling folder and renamed into place, so OUT is either the old export or the complete new one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ganfactory.curation.decisions import Decision, read_decisions
from ganfactory.curation.items import MANIFEST_NAME, GalleryItem, load_items
from ganfactory.errors import InputError
from ganfactory.output.atomic import fsync_directory
from ganfactory.output.writable import require_writable_output

log = logging.getLogger(__name__)

MARKER = ".ganfactory-curated"  # marks a folder this command wrote, which a later export may replace


@dataclass(frozen=True)
class ExportResult:
    out: Path
    manifest: Path
    written: int
    missing: int  # accepted images whose file no longer exists
    rejected: int
    total: int


def _check_out(run: Path, out: Path) -> None:
    data = (run / "Data").resolve()
    if out == run or out == data or data in out.parents or out in run.parents:
        raise InputError(f"The export folder {out} overlaps the run folder's Data/; choose a folder outside "
                         f"{data} (for example {run / 'curated'}).")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder for the curated images.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(f"{out} already holds files that a curation export did not write; choose an empty "
                         "or new folder.")


def _target(item: GalleryItem) -> PurePosixPath:
    name = PurePosixPath(item.path or "").name
    return PurePosixPath(item.class_name, name) if item.class_name else PurePosixPath(name)


def _write(run: Path, staging: Path, out: Path, accepted: list[GalleryItem]) -> tuple[int, int]:
    written = missing = 0
    lines = []
    for item in accepted:
        source = (run / item.path) if item.path else None
        if source is None or not source.is_file():
            missing += 1
            continue
        relative = _target(item)
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, staging / relative)
        entry = {**item.entry, "source": str(out / relative), "curated_from": str(item.entry["source"]),
                 "curation": Decision.ACCEPT.value}
        lines.append(json.dumps(entry, ensure_ascii=False))
        written += 1
    with open(staging / MANIFEST_NAME, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    (staging / MARKER).write_text(f"curated from {run}\n", encoding="utf-8")
    return written, missing


def export_curated(run: Path, out: Path) -> ExportResult:
    """Copy the accepted images of RUN to OUT and write OUT/output_0.manifest for them.

    Raises InputError when RUN has no manifest or no accepted image, or OUT overlaps RUN/Data or holds
    files of its own. The run folder is only read."""
    run, out = Path(run).resolve(), Path(out).expanduser().resolve()
    items = load_items(run)
    decisions = read_decisions(run)
    accepted = [item for item in items if decisions.get(item.id) is Decision.ACCEPT]
    if not accepted:
        raise InputError(f"No image of {run} is accepted yet; accept images in 'ganfactory console' "
                         f"(their decisions go to {run / 'curation.json'}) and export again.")
    _check_out(run, out)
    require_writable_output(out, out.parent)  # the staging folder goes beside OUT, then replaces it
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        written, missing = _write(run, staging, out, accepted)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    rejected = sum(1 for item in items if decisions.get(item.id) is Decision.REJECT)
    log.info("Exported %d accepted image(s) of %s to %s.", written, run, out)
    return ExportResult(out=out, manifest=out / MANIFEST_NAME, written=written, missing=missing,
                        rejected=rejected, total=len(items))


def _swap_in(staging: Path, out: Path) -> None:
    """Replace OUT (a previous export, or nothing) by the staging folder with renames only."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    fsync_directory(out.parent)
    shutil.rmtree(old, ignore_errors=True)
