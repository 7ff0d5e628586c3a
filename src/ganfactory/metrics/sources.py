"""Which images to evaluate: a run folder (its Data/ and the manifest's classes) or a plain image folder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ganfactory.data.discovery import discover_images
from ganfactory.errors import InputError
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import CLASSIFICATION, iter_manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageSource:
    """Image files by class name. `run` is the run folder when the images came from one, else None."""

    root: Path
    classes: dict[str, list[Path]]
    run: RunFolder | None

    @property
    def num_images(self) -> int:
        return sum(len(paths) for paths in self.classes.values())


def is_run_folder(path: Path) -> bool:
    run = RunFolder(Path(path))
    return run.data_dir.is_dir() and (run.config_path.is_file() or run.manifest_path.is_file())


def open_source(path: Path) -> ImageSource:
    """Images of a run folder (Data/, classes from output_0.manifest where it names them) or of a folder.

    Raises InputError for a missing path or a folder without images.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist; pass a run folder or a folder of images.")
    if not is_run_folder(path):
        return ImageSource(root=path, classes=discover_images(path).classes, run=None)
    run = RunFolder(path)
    try:
        classes = discover_images(run.data_dir).classes
    except InputError:
        raise InputError(f"The run folder {path} has no generated images in Data/; generate some first "
                         f"(ganfactory generate {path} ...).") from None
    return ImageSource(root=path, classes=_manifest_classes(run, classes), run=run)


def _manifest_classes(run: RunFolder, discovered: dict[str, list[Path]]) -> dict[str, list[Path]]:
    """Regroup Data/ files by the class their manifest line names; files it does not name keep their folder's."""
    if not run.manifest_path.is_file():
        return discovered
    named = {}
    for entry in iter_manifest(run.manifest_path):
        labels = [a["name"] for a in entry["annotation"] if a.get("type") == CLASSIFICATION]
        if labels:
            named[Path(entry["source"]).resolve()] = labels[0]
    classes: dict[str, list[Path]] = {}
    for folder_class, paths in discovered.items():
        for file in paths:
            classes.setdefault(named.get(file.resolve(), folder_class), []).append(file)
    return dict(sorted(classes.items()))
