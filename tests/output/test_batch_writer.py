"""The background writer of generated images: lines follow whole files, errors surface, a stop loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.output.batch_writer import BatchWriter
from ganfactory.output.manifest import ManifestWriter, class_annotation, make_entry


def _batch(folder: Path, first: int, count: int) -> tuple[list[tuple[torch.Tensor, Path]], list[dict]]:
    images = torch.arange(count * 3 * 4 * 4, dtype=torch.int64).reshape(count, 3, 4, 4).add(first).to(torch.uint8)
    paths = [folder / f"seed{first + i:08d}.png" for i in range(count)]
    entries = [make_entry(entry_id=f"id{first + i}", source=path, annotations=[class_annotation("a")])
               for i, path in enumerate(paths)]
    return list(zip(images, paths)), entries


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_lines_are_put_only_after_their_files_are_whole(tmp_path):
    manifest_path = tmp_path / "output_0.manifest"
    with ManifestWriter(manifest_path) as manifest, BatchWriter(manifest) as writer:
        first, first_entries = _batch(tmp_path, 0, 3)
        writer.submit(first, first_entries)
        assert len(manifest) == 0  # in flight: no line yet
        second, second_entries = _batch(tmp_path, 3, 2)
        writer.submit(second, second_entries)  # settles the first batch
        assert [entry["id"] for entry in _lines(manifest_path)] == ["id0", "id1", "id2"]
    assert [entry["id"] for entry in _lines(manifest_path)] == [f"id{i}" for i in range(5)]
    for image, path in first + second:  # every listed file is whole and holds its image
        assert np.array_equal(np.asarray(Image.open(path)), image.permute(1, 2, 0).numpy())


def test_a_stop_settles_the_batch_in_flight(tmp_path):
    manifest_path = tmp_path / "output_0.manifest"
    with pytest.raises(KeyboardInterrupt):
        with ManifestWriter(manifest_path) as manifest, BatchWriter(manifest) as writer:
            writer.submit(*_batch(tmp_path, 0, 2))
            raise KeyboardInterrupt
    assert [entry["id"] for entry in _lines(manifest_path)] == ["id0", "id1"]
    assert all((tmp_path / f"seed{i:08d}.png").is_file() for i in range(2))


def test_a_write_error_is_raised_and_its_lines_are_not_put(tmp_path):
    manifest_path = tmp_path / "output_0.manifest"
    (tmp_path / "a-file").write_text("")
    files, entries = _batch(tmp_path / "a-file", 0, 1)  # its "folder" is a file: the write fails
    with ManifestWriter(manifest_path) as manifest:
        with pytest.raises(OSError):
            with BatchWriter(manifest) as writer:
                writer.submit(files, entries)
        assert len(manifest) == 0
