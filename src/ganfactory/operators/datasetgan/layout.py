"""Where a DatasetGAN folder keeps its parts: the layout lives in ganfactory.output.annotation (the console reads
it too, without importing an operator); these names stay importable from here."""

from __future__ import annotations

from ganfactory.output.annotation import AnnotationFolder, annotation_folder

__all__ = ["AnnotationFolder", "annotation_folder"]
