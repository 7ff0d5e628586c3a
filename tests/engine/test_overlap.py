"""Issue 13, fault 1: no command may write into, around or onto one of its inputs (symlinks included).

`ganfactory cyclegan proj/Data tgt proj` used to exit 0 after overwriting every source image with its
translation; every case here must be refused before anything is written, inputs byte-identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfactory.data.commands import run_validate
from ganfactory.data.prepare import prepare_dataset
from ganfactory.errors import InputError
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.operator import run_cyclegan
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import run_stylegan
from ganfactory.output.overlap import refuse_overlap
from run_outputs import tree_digest

CYCLE = dict(image_height=16, image_width=16, n_blocks=1, base_channels=4, batch_size=2, max_epoch=1,
             device="cpu", precision="fp32", min_images=1)
STYLE = dict(resolution=16, cfg="small", cbase=256, cmax=32, batch_size=4, total_kimg=0.01, tick_kimg=0.01,
             generate_num=1, min_images=1, device="cpu", precision="fp32")


def _images(folder: Path, count: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"img{index:03d}.png")
    return folder


@pytest.mark.parametrize("relation", ["equal", "input inside output", "output inside input"])
def test_refuse_overlap_both_directions(tmp_path, relation):
    data = _images(tmp_path / "proj" / "Data", 1)
    output = {"equal": data, "input inside output": tmp_path / "proj",
              "output inside input": data / "out"}[relation]
    with pytest.raises(InputError, match="choose an output location apart from every input"):
        refuse_overlap(inputs=[data], outputs=[output])
    refuse_overlap(inputs=[data], outputs=[tmp_path / "elsewhere", tmp_path / "proj" / "Data2"])


def test_refuse_overlap_follows_symlinks(tmp_path):
    data = _images(tmp_path / "data", 1)
    (tmp_path / "out").mkdir()
    os.symlink(data, tmp_path / "out" / "Data")
    with pytest.raises(InputError, match="through a symlink"):
        refuse_overlap(inputs=[data], outputs=[tmp_path / "out" / "Data"])


def test_cyclegan_source_inside_out_is_refused_and_untouched(tmp_path):
    """The reported case: SOURCE is OUT/Data. Before the fix every source image became its translation."""
    proj = tmp_path / "proj"
    source, target = _images(proj / "Data", 6), _images(tmp_path / "tgt", 6, seed=1)
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match=r"input folder .*Data lies inside the output folder .*proj"):
        run_cyclegan(source, target, proj, CycleGANConfig(**CYCLE), progress_bar=False)
    assert tree_digest(tmp_path) == before  # nothing written: no model/, samples/, logs/ either


def test_cyclegan_predict_source_inside_out_is_refused(tmp_path):
    proj = tmp_path / "proj"
    source = _images(proj / "Data" / "src", 3)
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="lies inside the output folder"):
        run_cyclegan(source, tmp_path / "tgt", proj, CycleGANConfig(**CYCLE, predict=True, resume=str(tmp_path)),
                     progress_bar=False)
    assert tree_digest(tmp_path) == before


def test_stylegan_data_behind_a_symlinked_out_data_is_refused(tmp_path):
    data = _images(tmp_path / "faces", 4)
    (tmp_path / "run").mkdir()
    os.symlink(data, tmp_path / "run" / "Data")
    before = tree_digest(data)
    with pytest.raises(InputError, match="through a symlink"):
        run_stylegan(data, tmp_path / "run", StyleGANConfig(**STYLE), progress_bar=False)
    assert tree_digest(data) == before


def test_stylegan_data_inside_out_is_refused(tmp_path):
    data = _images(tmp_path / "run" / "samples" / "faces", 4)
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="lies inside the output folder"):
        run_stylegan(data, tmp_path / "run", StyleGANConfig(**STYLE), progress_bar=False)
    assert tree_digest(tmp_path) == before


def test_prepare_refuses_an_output_that_is_a_symlink_to_the_input(tmp_path):
    data = _images(tmp_path / "data", 2)
    os.symlink(data, tmp_path / "alias")
    before = tree_digest(data)
    with pytest.raises(InputError, match="output folder"):
        prepare_dataset(data, tmp_path / "alias" / "prepared", resolution=8)
    assert tree_digest(data) == before


def test_validate_json_inside_the_data_is_refused(tmp_path):
    data = _images(tmp_path / "data", 2)
    before = tree_digest(data)
    with pytest.raises(InputError, match="output file .*report.json lies inside the input folder"):
        run_validate(data, resolution=16, min_images=1, json_path=data / "report.json")
    assert tree_digest(data) == before
