"""The result of validating a data folder: per file, per class, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganfactory.data import jsonio
from ganfactory.data.discovery import SkippedFile
from ganfactory.errors import InputError

IssueKind = Literal["unreadable", "empty", "duplicate", "cross_class_duplicate", "extension_mismatch", "too_small"]

# Summaries are read in a terminal; the JSON report holds everything.
_SUMMARY_CLASSES = 20
_SUMMARY_WARNINGS = 10


@dataclass(frozen=True)
class FileIssue:
    """One finding about one file; `excluded` files are not used for training."""

    path: Path
    class_name: str
    kind: IssueKind
    message: str
    excluded: bool


@dataclass
class ClassSummary:
    """Counts for one class: files found, usable, left out, smaller than the target resolution."""

    name: str
    found: int
    usable: int = 0
    excluded: int = 0
    too_small: int = 0


@dataclass
class ValidationReport:
    """Everything validate_dataset found; `good_files` is what training should read."""

    root: Path
    layout: str
    resolution: tuple[int, int]
    min_images: int
    classes: dict[str, ClassSummary]
    good_files: dict[str, list[Path]]
    issues: list[FileIssue] = field(default_factory=list)
    fatal: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    nested_too_deep: list[Path] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.fatal

    @property
    def bad_files(self) -> list[FileIssue]:
        """The files left out, each with the reason."""
        return [issue for issue in self.issues if issue.excluded]

    @property
    def class_counts(self) -> dict[str, int]:
        """Usable images per class."""
        return {name: summary.usable for name, summary in self.classes.items()}

    @property
    def num_usable(self) -> int:
        return sum(summary.usable for summary in self.classes.values())

    def add_issue(self, issue: FileIssue) -> None:
        """Record a per-file finding; all but undersized images (summarised per class) become warnings."""
        self.issues.append(issue)
        if issue.kind != "too_small":
            self.warnings.append(issue.message)

    def raise_if_unusable(self) -> None:
        """Raise InputError with the first fatal problem (one sentence) when the data cannot be trained on."""
        if self.usable:
            return
        message = self.fatal[0]
        if len(self.fatal) > 1:
            message = f"{message[:-1]}; {len(self.fatal) - 1} more problem(s) are listed by `ganfactory validate`."
        raise InputError(message)

    def to_dict(self) -> dict[str, Any]:
        data = jsonio.plain(self)
        data.update(usable=self.usable, class_counts=self.class_counts, num_usable=self.num_usable,
                    bad_files=jsonio.plain(self.bad_files))
        return data

    def to_json(self) -> str:
        return jsonio.dumps(self.to_dict())

    def write_json(self, path: Path) -> None:
        jsonio.write_json(Path(path), self.to_dict())

    def summary_lines(self) -> list[str]:
        """A short human summary for the console."""
        found = sum(summary.found for summary in self.classes.values())
        lines = [f"{self.root}: {self.layout}-level, {len(self.classes)} class(es), {found} image files, "
                 f"{self.num_usable} usable, {len(self.bad_files)} left out"]
        for summary in list(self.classes.values())[:_SUMMARY_CLASSES]:
            lines.append(f"  {summary.name}: {summary.usable} usable, {summary.excluded} left out, "
                         f"{summary.too_small} smaller than {self.resolution[1]}x{self.resolution[0]}")
        if len(self.classes) > _SUMMARY_CLASSES:
            lines.append(f"  ... and {len(self.classes) - _SUMMARY_CLASSES} more classes")
        lines += [f"error: {sentence}" for sentence in self.fatal]
        lines += [f"warning: {sentence}" for sentence in self.warnings[:_SUMMARY_WARNINGS]]
        if len(self.warnings) > _SUMMARY_WARNINGS:
            lines.append(f"... and {len(self.warnings) - _SUMMARY_WARNINGS} more warnings (see the JSON report)")
        lines.append("result: usable" if self.usable else "result: NOT usable")
        return lines
