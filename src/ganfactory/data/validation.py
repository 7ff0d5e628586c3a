"""The `do_validation` checks: one pass over every file of a data folder, a report, a verdict.

Policy: files that cannot be used (unreadable, truncated, empty, an exact duplicate of another file
in the same class) are left out and listed as warnings; the dataset stays usable. The dataset is
unusable (fatal) only when no image can be read, a class has fewer than `min_images` usable images,
or images lie in folders nested deeper than two levels. Identical files in two different classes
are both kept, with a warning, since there is no telling which label is right.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial
from pathlib import Path

from ganfactory.data.discovery import DiscoveredDataset, discover_images
from ganfactory.data.filecheck import FileCheck, check_file, header_ok
from ganfactory.data.imageio import as_size
from ganfactory.data.parallel import thread_map
from ganfactory.data.validation_report import ClassSummary, FileIssue, IssueKind, ValidationReport
from ganfactory.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

__all__ = ["ClassSummary", "FileIssue", "ValidationReport", "readable_files", "validate_dataset"]


def validate_dataset(
    root: Path,
    *,
    resolution: int | tuple[int, int] = 256,
    min_images: int = 70,
    max_imbalance: float = 10.0,
    workers: int | None = None,
) -> ValidationReport:
    """Check every image under `root` once and report what is usable; never modifies `root`."""
    size = as_size(resolution)
    if min_images < 1:
        raise ConfigError(f"min_images must be at least 1, got {min_images}.")
    if max_imbalance < 1:
        raise ConfigError(f"max_imbalance must be at least 1, got {max_imbalance}.")
    discovered = discover_images(Path(root))
    items = discovered.items()
    check = partial(check_file, orientation=size[0] != size[1])  # a square target is rotation-proof
    checks = list(thread_map(check, [path for _, path in items], workers=workers))
    report = ValidationReport(
        root=discovered.root, layout=discovered.layout, resolution=size, min_images=min_images,
        classes={name: ClassSummary(name, found=len(paths)) for name, paths in discovered.classes.items()},
        good_files={name: [] for name in discovered.classes},
        skipped=list(discovered.skipped), nested_too_deep=list(discovered.nested_too_deep),
        empty_classes=list(discovered.empty_classes),
    )
    _assess_files(report, items, checks)
    _assess_layout(report, discovered)
    _assess_classes(report, max_imbalance=max_imbalance)
    logger.info("validated %d files under %s: %d usable, %d left out, %d fatal problems",
                len(items), report.root, report.num_usable, len(report.bad_files), len(report.fatal))
    return report


def readable_files(discovered: DiscoveredDataset, *, workers: int | None = None) -> dict[str, list[Path]]:
    """The cheap path when validation is off: header-only checks, bad files skipped with a logged warning."""
    items = discovered.items()
    reasons = list(thread_map(header_ok, [path for _, path in items], workers=workers))
    kept: dict[str, list[Path]] = {name: [] for name in discovered.classes}
    for (name, path), reason in zip(items, reasons):
        if reason is None:
            kept[name].append(path)
        else:
            logger.warning("skipping %s: it %s", path, reason)
    kept = {name: paths for name, paths in kept.items() if paths}
    if not kept:
        raise InputError(f"none of the {len(items)} image files under {discovered.root} can be read; "
                         "replace them with valid images.")
    return kept


def _assess_files(report: ValidationReport, items: list[tuple[str, Path]], checks: list[FileCheck]) -> None:
    """Per-file verdicts: excluded files, duplicates, extension mismatches, undersized images."""
    first_seen: dict[str, tuple[str, Path]] = {}
    height, width = report.resolution
    for (name, path), check in zip(items, checks):
        if not check.ok:
            kind: IssueKind = "empty" if check.empty else "unreadable"
            report.add_issue(FileIssue(path, name, kind, f"{path} {check.error}; it is left out.", True))
            continue
        original_class, original = first_seen.setdefault(check.digest or "", (name, path))
        if original != path and original_class == name:
            report.add_issue(FileIssue(path, name, "duplicate",
                                       f"{path} is an exact duplicate of {original}; it is left out.", True))
            continue
        if original != path:
            report.add_issue(FileIssue(path, name, "cross_class_duplicate",
                                       f"{path} in class '{name}' is identical to {original} in class "
                                       f"'{original_class}'; both are kept, check their labels.", False))
        if not check.extension_matches:
            report.add_issue(FileIssue(path, name, "extension_mismatch",
                                       f"{path} holds {check.format} data despite its {path.suffix} extension; "
                                       f"it is used, but consider renaming it.", False))
        if check.width < width or check.height < height:
            report.add_issue(FileIssue(path, name, "too_small",
                                       f"{path} is {check.width}x{check.height}, smaller than {width}x{height}; "
                                       "it will be upscaled.", False))
            report.classes[name].too_small += 1
        report.good_files[name].append(path)
    for name, summary in report.classes.items():
        summary.usable = len(report.good_files[name])
        summary.excluded = summary.found - summary.usable


def _assess_layout(report: ValidationReport, discovered: DiscoveredDataset) -> None:
    """Folder-level findings: nesting, empty class folders, skipped entries."""
    for folder in discovered.nested_too_deep:
        report.fatal.append(f"folder {folder} is nested more than two levels deep; move its images into "
                            f"{report.root}/<class>/ or remove it.")
    for name in discovered.empty_classes:
        report.warnings.append(f"class folder {report.root / name} has no images and is ignored; "
                               "add images or remove it.")
    by_reason: dict[str, list[Path]] = {}
    for skipped in discovered.skipped:
        if not skipped.reason.startswith("hidden"):
            by_reason.setdefault(skipped.reason, []).append(skipped.path)
    for reason, paths in by_reason.items():
        report.warnings.append(f"{len(paths)} file(s) skipped, {reason} (e.g. {paths[0]}).")


def _assess_classes(report: ValidationReport, *, max_imbalance: float) -> None:
    """Class-level findings: nothing readable, classes under the minimum, undersized images, imbalance."""
    found = sum(summary.found for summary in report.classes.values())
    if report.num_usable == 0:
        report.fatal.insert(0, f"none of the {found} image files under {report.root} can be read; "
                               "replace them with valid images.")
        return
    height, width = report.resolution
    for name, summary in report.classes.items():
        where = f"class '{name}'" if report.layout == "dual" else f"{report.root}"
        if summary.usable < report.min_images:
            report.fatal.append(f"{where} has {summary.usable} usable images, fewer than the minimum of "
                                f"{report.min_images}; add images or lower --min-images.")
        if summary.too_small:
            report.warnings.append(f"{where}: {summary.too_small} of {summary.usable} images are smaller than "
                                   f"{width}x{height} and will be upscaled.")
    counts = Counter({name: s.usable for name, s in report.classes.items() if s.usable})
    if len(counts) >= 2:
        (big, most), (small, least) = counts.most_common()[0], counts.most_common()[-1]
        if most / least > max_imbalance:
            report.warnings.append(f"classes are imbalanced: '{big}' has {most} images and '{small}' has {least} "
                                   f"({most / least:.0f}x, above {max_imbalance:g}x); the generator will favour "
                                   f"'{big}'.")
