"""`ganfactory stackgan-prepare DATA OUT`: a custom captioned image folder -> the CUB-style layout the StackGAN
operator reads, with sentence embeddings made offline. DATA is never modified; every file is written atomically.

OUT holds, all in one order (image id i is line i of each file, 1-based as in CUB-200-2011):
classes.txt (`<id> <class>`), images.txt (`<id> <class>/<image>.<ext>`), image_class_labels.txt
(`<id> <class id>`), train_test_split.txt (`<id> <0 train | 1 test>`, as the issue specifies; note that CUB's
own file uses 1 for training), bounding_boxes.txt (`<id> x y w h`), captions.jsonl, filenames.txt
(`<class>/<image>`), images/<class>/<image> (copies), embeddings.npy (float32 [N, captions, D]), encoder.json
and prepare_report.json;
with `--parts`, parts/parts.txt and parts/part_locs.txt as CUB lays them out (see parts.py).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganfactory.errors import InputError
from ganfactory.operators.stackgan.data import box_problem
from ganfactory.operators.stackgan.encoder import SentenceEncoder, load_encoder
from ganfactory.operators.stackgan.parts import PartAnnotations, part_lines, read_parts
from ganfactory.operators.stackgan.scan import PROBLEM_TEXT, CaptionedImage, ScanReport, scan_captioned_folder
from ganfactory.operators.stackgan.split import class_split, stratified_split
from ganfactory.output.atomic import atomic_write, atomic_write_json, atomic_write_text
from ganfactory.output.overlap import refuse_overlap
from ganfactory.output.writable import require_writable_output

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareResult:
    out: Path
    images: int
    classes: int
    train: int
    test: int
    captions_per_image: int
    report_lines: list[str]


def _check_folders(data: Path, out: Path, *, read_too: tuple[Path | str | None, ...] = ()) -> None:
    """DATA and the other files read (boxes, parts, reference pickles) lie apart from OUT
    and OUT/images (which may be a symlink), in both directions: nothing read is ever written."""
    files = [Path(p) for p in read_too if p is not None and Path(p).exists()]
    refuse_overlap(inputs=[Path(data), *files], outputs=[Path(out), Path(out) / "images"],
                   command="stackgan-prepare")


def read_boxes(path: Path) -> dict[str, tuple[float, float, float, float]]:
    """A user's box file: `<class>/<image>.<ext> x y w h` per line (pixels). Raises InputError naming the line."""
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.rsplit(maxsplit=4)
        if not line.strip():
            continue
        try:
            x, y, w, h = (float(v) for v in parts[1:])
        except ValueError:
            raise InputError(f"Line {number} of {path} is not '<class>/<image> x y w h'; fix that line.") from None
        boxes[parts[0]] = (x, y, w, h)
    return boxes


def _boxes_for(items: list[CaptionedImage], box_file: Path | None) -> list[tuple[float, float, float, float]]:
    if box_file is None:  # the whole image
        return [(0.0, 0.0, float(i.size[0]), float(i.size[1])) for i in items]
    boxes = read_boxes(box_file)
    missing = [i.rel for i in items if i.rel not in boxes]
    if missing:
        raise InputError(f"{len(missing)} image(s) have no box in {box_file} (first: {missing[0]}); add a line "
                         "for each or drop --bounding-boxes.")
    for item in items:  # a box outside its image would stop training later with an empty crop
        problem = box_problem(boxes[item.rel], item.size)
        if problem is not None:
            numbers = " ".join(f"{v:g}" for v in boxes[item.rel])
            raise InputError(f"The box '{numbers}' of {item.rel} ({item.size[0]}x{item.size[1]} pixels) in {box_file} "
                             f"{problem}; correct that line "
                             "(x y width height, in pixels) or drop --bounding-boxes.")
    return [boxes[i.rel] for i in items]


def caption_embeddings(items: list[CaptionedImage], encoder: SentenceEncoder) -> np.ndarray:
    """float32 [N, C, D], C = the most captions any image has; an image with fewer repeats its own captions
    cyclically (so every slot is one of its real sentences; captions.jsonl keeps the true count)."""
    flat = encoder.encode([c for item in items for c in item.captions])
    width = max(len(item.captions) for item in items)
    out = np.empty((len(items), width, encoder.dim), np.float32)
    start = 0
    for row, item in enumerate(items):
        count = len(item.captions)
        out[row] = flat[start:start + count][np.arange(width) % count]
        start += count
    return out


def report_lines(scan: ScanReport) -> list[str]:
    """One line per kind of problem, naming up to three files."""
    lines = []
    for kind, files in scan.problems.items():
        shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        lines.append(f"{len(files)} {PROBLEM_TEXT[kind]}: {shown}")
    return lines


def reference_embeddings(items: list[CaptionedImage], folder: Path,
                         scan: ScanReport) -> tuple[list[CaptionedImage], np.ndarray]:
    """Keep the images the reference's pickles describe, in the folder's order, with their char-CNN-RNN
    embeddings; images the pickles lack are left out and reported, and so is a different order."""
    from ganfactory.operators.stackgan.legacy import import_reference_files

    names, embeddings, _ = import_reference_files(folder)
    index = {name: i for i, name in enumerate(names)}
    kept = [item for item in items if item.stem in index]
    for item in items:
        if item.stem not in index:
            scan.add("not_in_reference", item.rel)
    order = [index[item.stem] for item in kept]
    if order != sorted(order):
        scan.add("order_mismatch", str(folder / "filenames.pickle"))
    return kept, embeddings[order]


def _copy_images(out: Path, items: list[CaptionedImage]) -> None:
    """OUT/images/<class>/<image>, as CUB-200-2011 lays them out: the prepared folder stands alone. Copies, not
    hard links, so nothing done to OUT can ever change DATA; a file already copied is kept."""
    for item in items:
        target = out / "images" / item.rel
        if target.is_file() and target.stat().st_size == item.path.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, functools.partial(shutil.copyfile, item.path))


def _lines(rows: list[str]) -> str:
    return "".join(f"{row}\n" for row in rows)


def _write_layout(out: Path, items: list[CaptionedImage], split: list[int],
                  boxes: list[tuple[float, float, float, float]], embeddings: np.ndarray) -> None:
    classes = sorted({item.class_name for item in items})
    class_id = {name: i + 1 for i, name in enumerate(classes)}
    ids = range(1, len(items) + 1)
    files = {
        "classes.txt": [f"{class_id[name]} {name}" for name in classes],
        "images.txt": [f"{i} {item.rel}" for i, item in zip(ids, items)],
        "image_class_labels.txt": [f"{i} {class_id[item.class_name]}" for i, item in zip(ids, items)],
        "train_test_split.txt": [f"{i} {flag}" for i, flag in zip(ids, split)],
        "bounding_boxes.txt": [f"{i} " + " ".join(f"{v:g}" for v in box) for i, box in zip(ids, boxes)],
        "filenames.txt": [item.stem for item in items],
        "captions.jsonl": [json.dumps({"id": i, "image": item.rel, "class": item.class_name,
                                       "captions": list(item.captions)}, ensure_ascii=False)
                           for i, item in zip(ids, items)],
    }
    for name, rows in files.items():
        atomic_write_text(out / name, _lines(rows))

    def save(tmp: Path) -> None:
        buffer = io.BytesIO()
        np.save(buffer, embeddings.astype(np.float32))
        tmp.write_bytes(buffer.getvalue())
    atomic_write(out / "embeddings.npy", save)


def _parts_for(items: list[CaptionedImage], scan: ScanReport, parts: Path | None,
               part_locs: Path | None) -> PartAnnotations | None:
    """The user's part files, checked against DATA; prepared images without any location line are reported."""
    if parts is None:
        if part_locs is not None:
            raise InputError("--part-locs needs --parts (the parts.txt that names the part ids); add --parts.")
        return None
    annotations = read_parts(parts, images=scan.images, locations=part_locs)
    for item in items:
        if item.rel not in annotations.locations:
            scan.add("no_part_locations", item.rel)
    return annotations


def _write_parts(out: Path, items: list[CaptionedImage], annotations: PartAnnotations) -> None:
    names, rows = part_lines(annotations, [item.rel for item in items])
    (out / "parts").mkdir(exist_ok=True)
    atomic_write_text(out / "parts" / "parts.txt", _lines(names))
    atomic_write_text(out / "parts" / "part_locs.txt", _lines(rows))


def prepare_stackgan_dataset(data: Path, out: Path, *, encoder: SentenceEncoder | str | Path | None = None,
                             test_fraction: float = 0.2,
                             split_by_class: bool = False, seed: int = 0, bounding_boxes: Path | None = None,
                             reference: Path | None = None, parts: Path | None = None,
                             part_locs: Path | None = None) -> PrepareResult:
    """Scan DATA, split, embed every caption and write the layout into OUT. `encoder`: a loaded encoder, or the
    `--encoder` value to load once DATA has been checked (None: the packaged all-MiniLM-L6-v2); with
    `reference` the reference's char-CNN-RNN embeddings are used instead and `encoder` is not loaded.
    `parts`: a folder with parts.txt and part_locs.txt, or parts.txt (part_locs.txt beside it unless
    `part_locs` is given); None: no part files are written.
    Raises InputError (one sentence) when nothing usable is left or an input file is wrong."""
    _check_folders(data, out, read_too=(bounding_boxes, reference, parts, part_locs))
    require_writable_output(Path(out), Path(out) / "images", Path(out) / "parts")  # before the slow encoding
    scan = scan_captioned_folder(Path(data))
    items = scan.items
    if reference is not None:
        items, embeddings = reference_embeddings(items, Path(reference), scan)
    if not items:
        raise InputError(f"No image in {data} has a usable caption file; put <image>.txt (one sentence a line) "
                         "beside each image.")
    classes = [item.class_name for item in items]
    split = (class_split if split_by_class else stratified_split)(classes, test_fraction=test_fraction, seed=seed)
    boxes = _boxes_for(items, bounding_boxes)
    annotations = _parts_for(items, scan, parts, part_locs)  # checked before the slow encoding
    if reference is None:
        if not isinstance(encoder, SentenceEncoder):
            encoder = load_encoder(encoder)
        embeddings = caption_embeddings(items, encoder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _copy_images(out, items)
    _write_layout(out, items, split, boxes, embeddings)
    if annotations is not None:
        _write_parts(out, items, annotations)
    lines = report_lines(scan)
    if reference is not None or not isinstance(encoder, SentenceEncoder):  # loaded above when no reference
        encoder_name = "char-CNN-RNN (reference pickles)"
    else:
        encoder_name = encoder.name
    atomic_write_json(out / "encoder.json", {"name": encoder_name, "dim": int(embeddings.shape[2])})
    atomic_write_json(out / "prepare_report.json", {"images": len(items), "problems": scan.problems,
                                                    "summary": lines})
    for line in lines:
        log.warning("%s", line)
    return PrepareResult(out=out, images=len(items), classes=len(set(classes)), train=split.count(0),
                         test=split.count(1), captions_per_image=int(embeddings.shape[1]), report_lines=lines)
