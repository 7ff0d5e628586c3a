"""Where a DatasetGAN folder (OUT of `datasetgan sample`) keeps its annotation parts, beside the usual run folder
layout of output.layout: read by the DatasetGAN operator and the console's annotation page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AnnotationFolder:
    root: Path  # OUT/annotation

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def masks_dir(self) -> Path:
        return self.root / "masks"

    @property
    def classes_path(self) -> Path:
        return self.root / "classes.json"

    @property
    def latents_path(self) -> Path:
        return self.root / "latents.safetensors"

    @property
    def generator_path(self) -> Path:
        return self.root / "generator.safetensors"

    @property
    def reconstructions_dir(self) -> Path:
        """G(w) of projected real images (`datasetgan add-real`); masks are drawn on images/, the real ones."""
        return self.root / "reconstructions"

    @property
    def samples_path(self) -> Path:
        return self.root / "samples.json"


def annotation_folder(out: Path) -> AnnotationFolder:
    return AnnotationFolder(Path(out) / "annotation")
