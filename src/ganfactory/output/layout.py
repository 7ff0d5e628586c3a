"""The run folder (ModelArts' train_url): one place that knows where everything a run writes goes.

OUT/model/            checkpoints, latest pointer, exported generator (model/<stage>/ for a stage's)
OUT/samples/          progress grids
OUT/Data/             generated images (Data/<class>/ when there are classes; DatasetGAN's pairs: PairFolder)
OUT/output_0.manifest JSON lines, one per generated file
OUT/logs/             stats.jsonl, progress.json, generation.json, TensorBoard events
OUT/config.json       the resolved configuration

Every name of the layout is spelled in this module only (tests/output/test_layout_names.py keeps it so): the
engine, jobs, console, curation, metrics and export reach a run's files through RunFolder and PairFolder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from ganfactory.errors import InputError
from ganfactory.output.atomic import atomic_write_json, remove_stale_temp_files
from ganfactory.output.overlap import recorded_inputs, refuse_overlap
from ganfactory.output.writable import probe_write, unwritable_error

MODEL_DIR, SAMPLES_DIR, DATA_DIR, LOGS_DIR = "model", "samples", "Data", "logs"
MANIFEST_FILE = "output_0.manifest"  # ModelArts' name for the first output manifest
CONFIG_FILE = "config.json"
STATS_FILE = "stats.jsonl"  # in logs/: one line per tick
PROGRESS_FILE = "progress.json"  # in logs/: what `jobs list` and the console show
GENERATION_FILE = "generation.json"  # in logs/: the last generation's summary
LATEST_POINTER = "latest"  # in a checkpoint folder: the name of its newest good checkpoint
ONNX_FILE = "generator.onnx"  # in model/: `ganfactory export`'s default output
# What makes a folder a run folder to the console (any one of them)
RUN_MARKERS = (CONFIG_FILE, MANIFEST_FILE, MODEL_DIR, LOGS_DIR, SAMPLES_DIR)


# DatasetGAN's pairs under Data/: each kind of file of a pair in its own folder
PAIR_FOLDERS = {"image": "images", "mask": "masks", "preview": "previews"}


@dataclass(frozen=True)
class PairFolder:
    """DatasetGAN's image + mask pairs under a run's Data/: images/, masks/ and previews/ (coloured masks) hold
    the kept pairs, dropped/<kind>/ the most uncertain ones, candidates.manifest every candidate labelled."""

    root: Path  # OUT/Data

    @property
    def images_dir(self) -> Path:
        return self.root / PAIR_FOLDERS["image"]

    @property
    def masks_dir(self) -> Path:
        return self.root / PAIR_FOLDERS["mask"]

    @property
    def candidates_path(self) -> Path:
        return self.root / "candidates.manifest"

    def pair_paths(self, name: str) -> dict[str, Path]:
        """{"image", "mask", "preview"} -> the PNG of pair `name` (e.g. gen00000003) in its kept place."""
        return {kind: self.root / folder / f"{name}.png" for kind, folder in PAIR_FOLDERS.items()}

    def dropped(self, path: Path) -> Path:
        """Where a kept pair's file (Data/<kind>/<name>.png) goes when the pair is dropped."""
        return self.root / "dropped" / path.parent.name / path.name

    @staticmethod
    def export_place(kind: str, relative: PurePosixPath) -> PurePosixPath:
        """Where a pair's file of `kind` ("image", "mask", "preview") goes in a folder exported with the pair
        layout (curation): images/, masks/ or previews/, then `relative`."""
        return PurePosixPath(PAIR_FOLDERS[kind]) / relative


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @property
    def model_dir(self) -> Path:
        return self.root / MODEL_DIR

    def stage_dir(self, stage: str) -> Path:
        """The checkpoints of a training stage: model/<stage>/, or model/ itself for "" (one stage)."""
        return self.model_dir / stage if stage else self.model_dir

    @property
    def onnx_path(self) -> Path:
        return self.model_dir / ONNX_FILE

    @property
    def samples_dir(self) -> Path:
        return self.root / SAMPLES_DIR

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    @property
    def pairs(self) -> PairFolder:
        return PairFolder(self.data_dir)

    @property
    def logs_dir(self) -> Path:
        return self.root / LOGS_DIR

    @property
    def stats_path(self) -> Path:
        return self.logs_dir / STATS_FILE

    @property
    def progress_path(self) -> Path:
        return self.logs_dir / PROGRESS_FILE

    @property
    def generation_path(self) -> Path:
        return self.logs_dir / GENERATION_FILE

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @staticmethod
    def under_data(path: PurePath) -> PurePath | None:
        """The part of a recorded path from its last Data/ on (Data/cats/seed1.png): where a file of a moved run
        folder is found again. None when the path has no Data/ part."""
        parts = path.parts
        if DATA_DIR not in parts:
            return None
        return type(path)(*parts[len(parts) - 1 - parts[::-1].index(DATA_DIR):])

    def class_dir(self, class_name: str | None) -> Path:
        """Data/<class>/ for a class-conditional run, Data/ for a single class."""
        return self.data_dir / class_name if class_name else self.data_dir

    def written_paths(self) -> list[Path]:
        """Every place a run writes: OUT and each of its folders (a folder may be a symlink elsewhere)."""
        return [self.root, self.model_dir, self.samples_dir, self.data_dir, self.logs_dir]

    def create(self) -> RunFolder:
        """Make the folders, check that each takes a file, and remove temporary files that a killed run left
        (a checkpoint's can be GBs). Raises InputError (one sentence) for a folder that cannot be written."""
        for folder in (self.model_dir, self.samples_dir, self.data_dir, self.logs_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _not_writable(folder, exc) from exc
        for folder in (self.root, self.model_dir, self.samples_dir, self.data_dir, self.logs_dir):
            require_writable(folder)
        remove_stale_temp_files(self.root)
        for folder in (self.model_dir, self.samples_dir, self.data_dir, self.logs_dir):
            # Data/<class>/ and model/<stage>/ too (a stage's checkpoint killed mid-write is as big as any)
            remove_stale_temp_files(folder, recursive=folder in (self.data_dir, self.model_dir))
        return self

    def write_config(self, config: dict[str, Any]) -> Path:
        return atomic_write_json(self.config_path, config)


def _not_writable(folder: Path, exc: OSError) -> InputError:
    return unwritable_error(folder, exc)


def require_writable(folder: Path) -> None:
    """Write and remove a probe file (output.writable): a read-only or full OUT is found before training, not at
    the first checkpoint."""
    try:
        probe_write(folder)
    except OSError as exc:
        raise _not_writable(folder, exc) from exc


def open_run_folder(out: Path, *, inputs: tuple[Path, ...] = (), model: Path | str | None = None,
                    model_file: Path | None = None, command: str = "") -> RunFolder:
    """Create OUT, refusing before anything is written a place that would write into or around an input.

    inputs: data folders the run reads; none may equal, lie inside or contain OUT or any of its folders
    (each resolved on its own, so a symlinked OUT/Data is caught). model: the checkpoint, run folder or
    .onnx that a generate-only run reads; it must lie apart from the folders generation writes, and the
    data folders its run was trained on (config.json) are protected like `inputs`. model_file: the file
    `model` resolves to (a run folder's latest checkpoint), resolved by the caller since the engine, not this
    module, knows checkpoints; None when there is none yet.
    Raises InputError for an overlap or when OUT is a file.
    """
    out = Path(out).expanduser()
    run = RunFolder(out)
    protected = [*inputs, *recorded_inputs(Path(model) if model else None)]
    refuse_overlap(inputs=protected, outputs=run.written_paths(), command=command)
    if model_file is not None:
        refuse_overlap(inputs=[model_file],
                       outputs=[run.data_dir, run.samples_dir, run.manifest_path], command=command)
    if out.exists() and not out.is_dir():
        raise InputError(f"The output path {out} is a file; give a folder path for the run's output.")
    return RunFolder(out).create()

