"""Curation of generated images: accept/reject decisions kept beside a run's manifest, and the export of the
accepted images with a manifest of them. The run's Data/ and manifest are never moved, changed or deleted."""

from ganfactory.curation.decisions import Decision, DecisionStore
from ganfactory.curation.export import ExportResult, export_curated
from ganfactory.curation.items import GalleryItem, load_items

__all__ = ["Decision", "DecisionStore", "ExportResult", "GalleryItem", "export_curated", "load_items"]
