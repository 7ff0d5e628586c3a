"""`ganfactory curate export RUN OUT`: copy the accepted images of a run to OUT with a manifest of them only.

OUT is a training-ready folder: OUT/<class>/<file> for a class-conditional run, OUT/<file> otherwise, plus
OUT's manifest (the run's lines for those images, `source` pointing at the copies). Image + mask pairs
(DatasetGAN) go to OUT/images/, OUT/masks/ and OUT/previews/, and their lines point at those copies too. It is
built in a temporary sibling folder and renamed into place, so OUT is either the old export or the complete new
one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ganfactory.curation.decisions import Decision, read_decisions
from ganfactory.curation.items import GalleryItem, _relative_source, load_items
from ganfactory.errors import InputError
from ganfactory.output.atomic import fsync_directory
from ganfactory.output.layout import PairFolder, RunFolder
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
    data = RunFolder(run).data_dir.resolve()
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


def _inside(run: Path, item: GalleryItem, recorded: str, what: str) -> Path | None:
    """A file that a manifest line names (its image, mask or preview), which must lie inside the (resolved) run
    folder: a manifest is a file a user or a tool may have edited, and `Data/../../x` or a symlink must not copy
    another folder's files. None when the path cannot be placed in the run at all."""
    relative = _relative_source(run, recorded)
    if relative is None:
        return None
    path = (run / relative).resolve()
    if not path.is_relative_to(run):
        raise InputError(f"The manifest line of image {item.id!r} names the {what} {recorded!r}, which is outside "
                         f"the run folder {run}; correct or remove that line of {RunFolder(run).manifest_path}.")
    return path


def _checked_target(item: GalleryItem) -> PurePosixPath:
    """Where the image goes inside OUT; a class name such as `../x` or `/abs` would write outside it."""
    relative = _target(item)
    if relative.is_absolute() or any(part in ("..", ".") for part in relative.parts) or "\\" in str(relative):
        raise InputError(f"The manifest line of image {item.id!r} has the class name {item.class_name!r}, which "
                         "would write outside the export folder; rename that class in the manifest to a plain "
                         "folder name.")
    return relative


Copies = list[tuple[str, Path | None, PurePosixPath]]


def _copies(run: Path, item: GalleryItem) -> tuple[Copies, Copies]:
    """(required, optional) copies of one accepted line: (the path its line records, the file in the run, its
    place in OUT). Required: the image and its segmentation masks (`annotation-loc`, to masks/; the image then goes
    to images/, as in the run's Data/), never exported one without the other; optional: a preview (to previews/).
    Raises InputError for a path outside the run or a class name that would leave OUT."""
    target = _checked_target(item)
    masks = [str(a["annotation-loc"]) for a in item.entry.get("annotation", [])
             if isinstance(a, dict) and a.get("annotation-loc")]
    image = _inside(run, item, str(item.entry["source"]), "source") if item.path else None
    required = [("source", image, PairFolder.export_place("image", target) if masks else target)]
    masks_dir = PairFolder.export_place("mask", target.parent)
    required += [(loc, _inside(run, item, loc, "mask"), masks_dir / PurePosixPath(loc).name) for loc in masks]
    preview = item.entry.get("preview")
    optional: Copies = []
    if isinstance(preview, str) and preview:
        optional.append((preview, _inside(run, item, preview, "preview"),
                         PairFolder.export_place("preview", target.parent / PurePosixPath(preview).name)))
    return required, optional


def _exported_entry(item: GalleryItem, out: Path, places: dict[str, PurePosixPath]) -> dict:
    """The run's line for the copies: source, masks and preview point into OUT (the run's paths are kept only as
    `curated_from`)."""
    entry = {**item.entry, "source": str(out / places["source"]), "curated_from": str(item.entry["source"]),
             "curation": Decision.ACCEPT.value}
    entry["annotation"] = [{**a, "annotation-loc": str(out / places[str(a["annotation-loc"])])}
                           if isinstance(a, dict) and str(a.get("annotation-loc")) in places else a
                           for a in item.entry.get("annotation", [])]
    preview = str(item.entry.get("preview"))
    if preview in places:
        entry["preview"] = str(out / places[preview])
    elif "preview" in entry:
        del entry["preview"]  # not there to copy: never a path back into the run
    return entry


def _write(staging: Path, out: Path, plan: list[tuple[GalleryItem, Copies, Copies]], run: Path) -> tuple[int, int]:
    written = missing = 0
    lines = []
    for item, required, optional in plan:
        if any(source is None or not source.is_file() for _, source, _ in required):
            missing += 1
            continue
        files = required + [copy for copy in optional if copy[1] is not None and copy[1].is_file()]
        for _, source, relative in files:
            assert source is not None
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staging / relative)
        lines.append(json.dumps(_exported_entry(item, out, {key: place for key, _, place in files}),
                                ensure_ascii=False))
        written += 1
    with open(RunFolder(staging).manifest_path, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    (staging / MARKER).write_text(f"curated from {run}\n", encoding="utf-8")
    return written, missing


def export_curated(run: Path, out: Path) -> ExportResult:
    """Copy the accepted images of RUN to OUT and write OUT's manifest for them.

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
    plan = [(item, *_copies(run, item)) for item in accepted]  # refuse before writing
    require_writable_output(out, out.parent)  # the staging folder goes beside OUT, then replaces it
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        written, missing = _write(staging, out, plan, run)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    rejected = sum(1 for item in items if decisions.get(item.id) is Decision.REJECT)
    log.info("Exported %d accepted image(s) of %s to %s.", written, run, out)
    return ExportResult(out=out, manifest=RunFolder(out).manifest_path, written=written, missing=missing,
                        rejected=rejected, total=len(items))


def _swap_in(staging: Path, out: Path) -> None:
    """Replace OUT (a previous export, or nothing) by the staging folder with renames only."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    fsync_directory(out.parent)
    shutil.rmtree(old, ignore_errors=True)
