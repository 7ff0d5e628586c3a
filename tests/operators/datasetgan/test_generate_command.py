"""`ganfactory generate FOLDER OUT` on a DatasetGAN folder dispatches to DatasetGAN's sampler: image + mask pairs
from FOLDER's interpreter into another OUT, FOLDER left as it was; what it cannot take is one sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tests.run_outputs import tree_digest

from ganfactory.output.manifest import read_manifest

from .conftest import CLASSES, SIZE


def test_generate_writes_pairs_from_a_datasetgan_folder_into_out(generated: Path, in_process, tmp_path: Path) -> None:
    before = tree_digest(generated)
    out = tmp_path / "pairs"
    result = in_process("generate", generated, out, "--num", "3", "--drop-uncertain", "0", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    lines = read_manifest(out / "output_0.manifest")
    assert len(lines) == 3 and len(list((out / "Data" / "images").glob("*.png"))) == 3
    for line in lines:
        with Image.open(line["source"]) as image:
            assert image.size == (SIZE, SIZE)
        (annotation,) = line["annotation"]
        mask = np.asarray(Image.open(annotation["annotation-loc"]))
        assert mask.shape == (SIZE, SIZE) and mask.max() < len(CLASSES) and line["operator"] == "datasetgan"
    assert tree_digest(generated) == before  # read only: the pairs went to OUT


def test_generate_refuses_what_a_datasetgan_folder_cannot_take(generated: Path, in_process, tmp_path: Path) -> None:
    for options, expected in ((("--generate-num", "3"), "is a datasetgan model, which takes no --generate-num"),
                              (("--num", "1", "--source", tmp_path), "takes no --source; drop it"),
                              ((), "Give --num N")):
        result = in_process("generate", generated, tmp_path / "out", *options, "--device", "cpu")
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 2 and len(errors) == 1 and expected in errors[0], result.stderr
