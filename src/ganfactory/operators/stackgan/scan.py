"""Finding the captioned images of a custom StackGAN dataset and everything wrong with them.

Layouts: `DATA/<class>/<image>.<ext>` with `<image>.txt` beside it (one sentence a line), or the StackGAN++
layout, a `text/<class>/<image>.txt` tree beside the image folders (DATA/text, DATA/images or DATA/<class>).
Problems are collected, not raised: an image without usable captions is left out and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ganfactory.data.imageio import DECODE_ERRORS, is_image_file
from ganfactory.errors import InputError

TEXT_DIR = "text"


@dataclass(frozen=True)
class CaptionedImage:
    class_name: str
    path: Path  # the image file
    rel: str  # "<class>/<image>.<ext>", as images.txt writes it
    captions: tuple[str, ...]
    size: tuple[int, int]  # (width, height) in pixels

    @property
    def stem(self) -> str:
        """"<class>/<image>", as filenames.txt writes it (the reference's filenames.pickle form)."""
        return self.rel.rsplit(".", 1)[0]


@dataclass
class ScanReport:
    """What was found; `problems` maps a kind to the files it concerns (relative to DATA)."""

    items: list[CaptionedImage] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)  # every image file seen ("<class>/<image>.<ext>"), kept or not

    def add(self, kind: str, rel: str) -> None:
        self.problems.setdefault(kind, []).append(rel)


PROBLEM_TEXT = {
    "missing_caption": "image(s) without a caption file (left out)",
    "empty_caption": "empty caption file(s) (their images left out)",
    "unreadable_caption": "caption file(s) that are not UTF-8 text (their images left out)",
    "unreadable_image": "image(s) that cannot be decoded (left out)",
    "caption_without_image": "caption file(s) without an image (ignored)",
    "not_in_reference": "image(s) the reference's filenames.pickle does not list (left out)",
    "order_mismatch": "reference file(s) in another order than the folder (reordered to the folder's order)",
    "duplicate_name": "image name(s) used twice in a class, e.g. a.jpg and a.png sharing a.txt (left out)",
    "no_part_locations": "image(s) without a line in the part locations file (every part written as not visible)",
}


def _roots(data: Path) -> tuple[Path, Path | None]:
    """(folder holding the class folders, text tree or None)."""
    text = data / TEXT_DIR if (data / TEXT_DIR).is_dir() else None
    images = data / "images" if (text is not None and (data / "images").is_dir()) else data
    return images, text


def _class_folders(root: Path) -> list[Path]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != TEXT_DIR)
    if not folders:
        raise InputError(f"{root} has no class folders; lay the data out as DATA/<class>/<image>.jpg with "
                         "<image>.txt beside each image.")
    return folders


def read_captions(path: Path) -> list[str] | None:
    """The non-empty, stripped lines of a caption file; None when it is not UTF-8 text."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as img:
            img.load()
            return img.size
    except DECODE_ERRORS:
        return None


def _scan_class(folder: Path, text_root: Path | None, data: Path, report: ScanReport) -> None:
    images = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
    stems: dict[str, list[Path]] = {}
    for path in images:
        stems.setdefault(path.stem, []).append(path)
        report.images.add(f"{folder.name}/{path.name}")
    caption_dir = text_root / folder.name if text_root is not None else folder
    texts = sorted(caption_dir.glob("*.txt")) if caption_dir.is_dir() else []
    for text in texts:
        if text.stem not in stems:
            report.add("caption_without_image", str(text.relative_to(data)))
    for stem, paths in sorted(stems.items()):
        rels = [f"{folder.name}/{p.name}" for p in paths]
        if len(paths) > 1:
            for rel in rels:
                report.add("duplicate_name", rel)
            continue
        _scan_image(paths[0], rels[0], caption_dir / f"{stem}.txt", folder.name, report)


def _scan_image(path: Path, rel: str, caption_file: Path, class_name: str, report: ScanReport) -> None:
    if not caption_file.is_file():
        report.add("missing_caption", rel)
        return
    captions = read_captions(caption_file)
    if captions is None:
        report.add("unreadable_caption", rel)
        return
    if not captions:
        report.add("empty_caption", rel)
        return
    size = _image_size(path)
    if size is None:
        report.add("unreadable_image", rel)
        return
    report.items.append(CaptionedImage(class_name=class_name, path=path, rel=rel, captions=tuple(captions),
                                       size=size))


def scan_captioned_folder(data: Path) -> ScanReport:
    """Every class folder in name order, every image in name order. Raises InputError (one sentence) when DATA
    is missing or holds no class folder; an empty result is for the caller to judge."""
    data = Path(data)
    if not data.is_dir():
        raise InputError(f"{data} is not a folder; pass the folder that holds one subfolder per class.")
    image_root, text_root = _roots(data)
    report = ScanReport()
    for folder in _class_folders(image_root):
        _scan_class(folder, text_root, data, report)
    return report
