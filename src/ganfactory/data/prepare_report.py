"""What prepare_dataset wrote and what it dropped, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganfactory.data import jsonio
from ganfactory.data.discovery import SkippedFile

DropReason = Literal["unreadable", "exact_duplicate", "near_duplicate", "class_too_small"]
REPORT_NAME = "prepare_report.json"
_SUMMARY_WARNINGS = 10


@dataclass(frozen=True)
class DroppedFile:
    """A source image that was not written, with the reason (and the kept image it duplicates)."""

    path: Path
    class_name: str
    reason: DropReason
    message: str
    duplicate_of: Path | None = None
    distance: int | None = None


@dataclass(frozen=True)
class PreparedFile:
    """A source image and the PNG written for it."""

    source: Path
    output: Path
    class_name: str
    foreground_fraction: float | None = None  # with remove_background: the share of the image kept
    background_doubt: str | None = None  # why the foreground estimate is doubtful; None when it looks plausible


@dataclass
class PrepareReport:
    """The outcome of prepare_dataset; also written to `<destination>/prepare_report.json`."""

    source: Path
    destination: Path
    layout: str
    resolution: int
    mode: str
    channels: int
    background: tuple[int, int, int]
    dedupe: bool
    dedupe_threshold: int
    files: list[PreparedFile] = field(default_factory=list)
    dropped: list[DroppedFile] = field(default_factory=list)
    dropped_classes: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    remove_background: bool = False
    background_sheet: Path | None = None  # the before/after contact sheet, with remove_background

    @property
    def doubtful_backgrounds(self) -> list[PreparedFile]:
        return [prepared for prepared in self.files if prepared.background_doubt]

    @property
    def written(self) -> dict[str, int]:
        """Images written per class."""
        counts: dict[str, int] = {}
        for prepared in self.files:
            counts[prepared.class_name] = counts.get(prepared.class_name, 0) + 1
        return counts

    @property
    def report_path(self) -> Path:
        return self.destination / REPORT_NAME

    def drop(self, dropped: DroppedFile) -> None:
        self.dropped.append(dropped)
        self.warnings.append(dropped.message)

    def to_dict(self) -> dict[str, Any]:
        data = jsonio.plain(self)
        data["written"] = self.written
        return data

    def to_json(self) -> str:
        return jsonio.dumps(self.to_dict())

    def write_json(self, path: Path | None = None) -> None:
        jsonio.write_json(Path(path) if path is not None else self.report_path, self.to_dict())

    def summary_lines(self) -> list[str]:
        """A short human summary for the console."""
        colour = "grayscale" if self.channels == 1 else "RGB"
        lines = [f"{self.source} -> {self.destination}: {len(self.files)} images written at "
                 f"{self.resolution}x{self.resolution} ({self.mode}, {colour}), {len(self.dropped)} dropped"]
        lines += [f"  {name}: {count} written" for name, count in list(self.written.items())[:20]]
        if self.remove_background:
            lines.append(f"  background removed; {len(self.doubtful_backgrounds)} doubtful result(s); before/after: "
                         f"{self.background_sheet}")
        lines += [f"warning: {sentence}" for sentence in self.warnings[:_SUMMARY_WARNINGS]]
        if len(self.warnings) > _SUMMARY_WARNINGS:
            lines.append(f"... and {len(self.warnings) - _SUMMARY_WARNINGS} more warnings (see {self.report_path})")
        return lines
