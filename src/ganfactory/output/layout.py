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
from ganfactory.output.atomic import atomic_write_json


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

    def create(self) -> "RunFolder":
        for folder in (self.model_dir, self.samples_dir, self.data_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def write_config(self, config: dict[str, Any]) -> Path:
        return atomic_write_json(self.config_path, config)


def open_run_folder(out: Path, *, inputs: tuple[Path, ...] = ()) -> RunFolder:
    """Create OUT, refusing a place that would write into the user's input data."""
    out = Path(out).expanduser()
    resolved = out.resolve()
    for data in inputs:
        data_root = Path(data).expanduser().resolve()
        if resolved == data_root or data_root in resolved.parents:
            raise InputError(f"The output folder {out} lies inside the input folder {data}; choose an output folder "
                             "outside it so the input data is never changed.")
    if out.exists() and not out.is_dir():
        raise InputError(f"The output path {out} is a file; give a folder path for the run's output.")
    return RunFolder(out).create()
