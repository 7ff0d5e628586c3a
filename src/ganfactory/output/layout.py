"""The run folder (ModelArts' train_url): one place that knows where everything a run writes goes.

OUT/model/            checkpoints, latest pointer, exported generator
OUT/samples/          progress grids
OUT/Data/             generated images (Data/<class>/ when there are classes)
OUT/output_0.manifest JSON lines, one per generated file
OUT/logs/             stats.jsonl, progress.json, TensorBoard events
OUT/config.json       the resolved configuration
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganfactory.errors import InputError
from ganfactory.output.atomic import atomic_write_json, remove_stale_temp_files
from ganfactory.output.overlap import recorded_inputs, refuse_overlap
from ganfactory.output.writable import probe_write, unwritable_error


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    @property
    def data_dir(self) -> Path:
        return self.root / "Data"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def manifest_path(self) -> Path:
        return self.root / "output_0.manifest"

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

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
            remove_stale_temp_files(folder, recursive=folder == self.data_dir)  # Data/<class>/ too
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

