"""Issue 13, fault 2: file names that are not valid UTF-8 (Latin-1 b'caf\\xe9.png').

`validate` called such a folder usable, then `ganfactory stylegan` stopped with "internal error:
UnicodeEncodeError ... surrogates not allowed". Every place a path becomes text must cope: fingerprints,
manifest ids and lines, config.json, validation.json, prepare_report.json, logs, the job queue.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.data.dataset import load_image_folder
from ganfactory.data.prepare import prepare_dataset
from ganfactory.data.validation import validate_dataset
from ganfactory.errors import InputError
from ganfactory.jobs.home import JobHome
from ganfactory.jobs.queue import JobQueue
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.operator import run_cyclegan
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import run_stylegan
from ganfactory.output.manifest import read_manifest

LATIN1 = [b"caf\xe9.png", b"na\xefve.png"]  # not valid UTF-8


def _folder(root: Path, count: int, seed: int = 0) -> Path:
    """`count` 16x16 PNGs, the first two with Latin-1 names written as raw bytes."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        name = LATIN1[index] if index < len(LATIN1) else b"img%03d.png" % index
        with open(os.path.join(os.fsencode(root), name), "wb") as handle:
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(handle, format="PNG")
    return root


def test_validation_and_loader_agree_and_the_report_is_valid_json(tmp_path):
    data = _folder(tmp_path / "data", 5)
    report = validate_dataset(data, resolution=16, min_images=1)
    loaded = load_image_folder(data, resolution=16, files=report.good_files)
    assert report.num_usable == len(loaded) == 5
    report.write_json(tmp_path / "validation.json")
    text = (tmp_path / "validation.json").read_bytes().decode("utf-8")  # strict: the file is valid UTF-8
    names = {os.fsencode(Path(p).name) for p in json.loads(text)["good_files"]["data"]}
    assert set(LATIN1) <= names  # the escapes read back as the very bytes on disk


def test_stylegan_trains_and_writes_valid_outputs(tmp_path):
    data = _folder(tmp_path / "data", 6)
    config = StyleGANConfig(resolution=16, cfg="small", cbase=256, cmax=32, batch_size=4, total_kimg=0.008,
                            tick_kimg=0.008, generate_num=2, min_images=1, device="cpu", precision="fp32")
    result = run_stylegan(data, tmp_path / "run", config, progress_bar=False)
    assert result.images_written == 2
    for name in ("config.json", "validation.json", "output_0.manifest"):
        (tmp_path / "run" / name).read_bytes().decode("utf-8")
    assert len(read_manifest(tmp_path / "run" / "output_0.manifest")) == 2


def test_cyclegan_translates_and_the_manifest_names_the_real_files(tmp_path):
    torch.manual_seed(0)
    source, target = _folder(tmp_path / "a", 4), _folder(tmp_path / "b", 3, seed=1)
    config = CycleGANConfig(image_height=16, image_width=16, n_blocks=1, base_channels=4, batch_size=2,
                            max_epoch=1, device="cpu", precision="fp32", min_images=1)
    result = run_cyclegan(source, target, tmp_path / "run", config, progress_bar=False)
    assert result.images_written == 4
    lines = read_manifest(tmp_path / "run" / "output_0.manifest")
    assert len({line["id"] for line in lines}) == 4
    for line in lines:  # every path in the manifest is a file that exists, byte for byte
        assert os.path.isfile(os.fsencode(line["source"])) and os.path.isfile(os.fsencode(line["source_file"]))
    assert {os.fsencode(Path(line["source_file"]).name) for line in lines} >= set(LATIN1)


def test_prepare_report_is_valid_json(tmp_path):
    report = prepare_dataset(_folder(tmp_path / "data", 3), tmp_path / "out", resolution=8)
    assert len(report.files) == 3
    json.loads(report.report_path.read_bytes().decode("utf-8"))
    assert {os.fsencode(p.name) for p in (tmp_path / "out").iterdir()} >= {b"caf\xe9.png", b"na\xefve.png"}


def test_job_queue_refuses_a_run_folder_it_cannot_store_in_one_sentence(tmp_path):
    (tmp_path / "home").mkdir()
    queue = JobQueue(JobHome(tmp_path / "home"))
    run_folder = Path(os.fsdecode(b"/tmp/run\xe9"))
    with pytest.raises(InputError, match="not valid UTF-8"):
        queue.submit(operator="stylegan", args=["data", str(run_folder)], run_folder=run_folder, cwd=tmp_path)
    assert queue.list_jobs() == []
