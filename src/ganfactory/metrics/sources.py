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
    """Images of a run folder (Data/, classes from its manifest where it names them) or of a folder.
    With a manifest, only the files its lines name as `source` are images: Data/ may hold more (DatasetGAN's
    masks, previews and dropped pairs).

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


def _listed_path(run: RunFolder, source: str) -> Path:
    """A manifest source as a path; one outside a moved run folder is looked up under its Data/ again."""
    path = Path(source)
    moved = RunFolder.under_data(path) if path.is_absolute() and not path.exists() else None
    if moved is not None:
        path = run.root / moved
    return (run.root / path if not path.is_absolute() else path).resolve()


def _manifest_classes(run: RunFolder, discovered: dict[str, list[Path]]) -> dict[str, list[Path]]:
    """The Data/ files the manifest lists, by the class their line names (else their folder's); without a
    manifest every discovered file."""
    if not run.manifest_path.is_file():
        return discovered
    named: dict[Path, str | None] = {}
    for entry in iter_manifest(run.manifest_path):
        labels = [a["name"] for a in entry["annotation"] if a.get("type") == CLASSIFICATION]
        named[_listed_path(run, str(entry["source"]))] = labels[0] if labels else None
    classes: dict[str, list[Path]] = {}
    for folder_class, paths in discovered.items():
        for file in paths:
            key = file.resolve()
            if key in named:
                classes.setdefault(named[key] or folder_class, []).append(file)
    if not classes:
        raise InputError(f"{run.manifest_path} lists none of the images in {run.data_dir}; generate again "
                         f"(ganfactory generate {run.root} ...) so that it lists them.")
    return dict(sorted(classes.items()))
