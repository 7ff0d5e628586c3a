"""The real images to project: read from a single- or dual-level folder, square-cropped and resized to the
generator's size and channels, with ids that are unique file names and, for a conditional run, a class each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganfactory.data.discovery import discover_images
from ganfactory.data.imageio import load_image, resize, to_square
from ganfactory.errors import InputError


@dataclass
class Targets:
    """ids, source paths, class index per image (None: no class, or the average of all classes), and the
    images as uint8 [N, C, R, R]."""

    ids: list[str]
    paths: list[Path]
    classes: list[int | None]
    images: torch.Tensor

    def as_float(self) -> torch.Tensor:
        """[N, C, R, R] in [-1, 1], as the generator writes images."""
        return self.images.float() / 127.5 - 1.0


def load_targets(folder: Path, *, resolution: int, channels: int, class_names: list[str],
                 class_name: str | None) -> Targets:
    """Every image of `folder` (FOLDER/*.png or FOLDER/<class>/*.png). A conditional run (class_names not
    empty) takes --class for every image, else the image's subfolder when it names one of the run's classes,
    else None. Raises InputError for an empty folder, an unreadable image, an unknown --class, or --class
    with an unconditional run."""
    found = discover_images(Path(folder))
    fixed = _class_index(class_name, class_names)
    ids, paths, classes, images = [], [], [], []
    for folder_class, path in found.items():
        ids.append(f"{folder_class}_{path.stem}" if found.layout == "dual" else path.stem)
        paths.append(path)
        by_folder = class_names.index(folder_class) if found.layout == "dual" and folder_class in class_names else None
        classes.append(fixed if fixed is not None else by_folder if class_names else None)
        images.append(_read(path, resolution=resolution, channels=channels))
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"Two images in {folder} would both be saved as '{duplicate}'; rename one of them.")
    return Targets(ids=ids, paths=paths, classes=classes, images=torch.stack(images))


def _class_index(class_name: str | None, class_names: list[str]) -> int | None:
    if class_name is None:
        return None
    if not class_names:
        raise InputError(f"--class {class_name} was given but the StyleGAN run is not class-conditional; "
                         "leave --class out.")
    if class_name not in class_names:
        raise InputError(f"Class '{class_name}' is not one of the StyleGAN run's classes: {', '.join(class_names)}.")
    return class_names.index(class_name)


def _read(path: Path, *, resolution: int, channels: int) -> torch.Tensor:
    image = resize(to_square(load_image(path, channels=channels), mode="crop"), (resolution, resolution))
    array = np.array(image, dtype=np.uint8)  # a writable copy: torch refuses read-only arrays
    array = array[:, :, None] if array.ndim == 2 else array
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
