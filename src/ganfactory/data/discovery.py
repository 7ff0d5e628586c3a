"""Finding the images and classes in a data folder, without opening any image.

Layout rules (deterministic, everything sorted by name):
* dual level: at least one non-hidden subfolder holds images directly. Each such subfolder is a
  class; subfolders without images are reported in `empty_classes`; images lying loose next to
  the class folders are skipped (with a reason), because they belong to no class.
* single level: otherwise. The images directly in the folder form one class named after it.
* Folders below a class folder (three levels) are never read; those holding images are listed in
  `nested_too_deep` so validation can refuse the layout instead of silently losing images.
* Hidden files and folders (leading dot) and files without an image extension are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ganfactory.data.imageio import IMAGE_EXTENSIONS, is_image_file
from ganfactory.errors import InputError

Layout = Literal["single", "dual"]


@dataclass(frozen=True)
class SkippedFile:
    """A directory entry that is not used, and why."""

    path: Path
    reason: str


@dataclass
class DiscoveredDataset:
    """The image files of a data folder, grouped by class."""

    root: Path
    layout: Layout
    classes: dict[str, list[Path]]
    skipped: list[SkippedFile] = field(default_factory=list)
    nested_too_deep: list[Path] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        return sum(len(paths) for paths in self.classes.values())

    def items(self) -> list[tuple[str, Path]]:
        """(class name, path) for every image, in class then file order."""
        return [(name, path) for name, paths in self.classes.items() for path in paths]


@dataclass
class _Listing:
    """One folder's direct entries, sorted by name."""

    images: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def discover_images(root: Path) -> DiscoveredDataset:
    """Find the classes and image files under `root`; raise InputError when there is nothing to use."""
    root = Path(root)
    _check_root(root)
    top = _list_folder(root)
    listings = {folder: _list_folder(folder) for folder in top.folders}
    nested = [deep for listing in listings.values() for deep in listing.folders if _holds_images(deep)]
    skipped = list(top.skipped)
    if any(listing.images for listing in listings.values()):
        classes = {folder.name: listing.images for folder, listing in listings.items() if listing.images}
        empty = [folder.name for folder, listing in listings.items() if not listing.images]
        skipped += [SkippedFile(path, "loose image next to class folders; move it into a class folder")
                    for path in top.images]
        for folder in (f for f in top.folders if f.name in classes):
            skipped += listings[folder].skipped
        result = DiscoveredDataset(root, "dual", classes, skipped, nested, empty)
    else:
        name = root.resolve().name or "images"
        classes = {name: top.images} if top.images else {}
        result = DiscoveredDataset(root, "single", classes, skipped, nested, [])
    if result.num_images == 0:
        raise InputError(_no_images_message(root, nested))
    return result


def list_image_files(root: Path) -> list[Path]:
    """Every image of a single- or dual-level folder as one sorted list (e.g. a CycleGAN domain)."""
    return [path for _, path in discover_images(root).items()]


def _check_root(root: Path) -> None:
    if not root.exists():
        raise InputError(f"data folder {root} does not exist; check the path.")
    if not root.is_dir():
        raise InputError(f"{root} is a file, not a folder; pass the folder that holds the images.")


def _list_folder(folder: Path) -> _Listing:
    """Sort one folder's entries into images, subfolders and skipped entries."""
    listing = _Listing()
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        raise InputError(f"folder {folder} cannot be listed ({exc.strerror}); check its permissions.") from None
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            kind = "folder" if entry.is_dir() else "file"
            listing.skipped.append(SkippedFile(path, f"hidden {kind}"))
        elif entry.is_dir():
            listing.folders.append(path)
        elif not entry.is_file():
            listing.skipped.append(SkippedFile(path, "not a regular file"))
        elif is_image_file(path):
            listing.images.append(path)
        else:
            listing.skipped.append(SkippedFile(path, "not an image extension"))
    return listing


def _holds_images(folder: Path) -> bool:
    """True when an image file lies anywhere below `folder` (hidden folders excluded)."""
    for current, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        if any(is_image_file(Path(current, name)) for name in files):
            return True
    return False


def _no_images_message(root: Path, nested: list[Path]) -> str:
    if nested:
        return (f"data folder {root} has no images at the first or second level, only in {nested[0]}, "
                f"which is nested too deep; move them to {root}/<class>/.")
    extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
    return f"data folder {root} contains no images ({extensions}); add images or point to the right folder."


def match_class_names(names: Iterable[str], reference: Iterable[str]) -> dict[str, str]:
    """Each of `names` -> the name in `reference` it stands for: the same name, else the one reference name equal
    to it ignoring case that no other name takes (`cats` for `Cats`: folders typed differently, or copied
    through a case-insensitive file system). A name without such a match maps to itself, and two names never
    map to one reference name."""
    names, reference = list(names), list(reference)
    mapping = {name: name for name in names}
    taken = set(names) & set(reference)
    for name in names:
        if name in reference:
            continue
        candidates = [r for r in reference if r.casefold() == name.casefold() and r not in taken]
        if len(candidates) == 1 and sum(n.casefold() == name.casefold() for n in names if n not in reference) == 1:
            mapping[name] = candidates[0]
            taken.add(candidates[0])
    return mapping
