"""`ganfactory cyclegan` as a subprocess: train + translate, rerun, predict from a run folder and from ONNX, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import TINY_FLAGS, assert_one_line_error, image_files, manifest_lines, tree_digest

pytestmark = [pytest.mark.usefixtures("single_thread"), pytest.mark.precision]


@pytest.fixture(scope="module")
def run(cli, domains, tmp_path_factory) -> Path:
    """A finished CLI run folder (SOURCE -> TARGET, 2 epochs)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = cli("cyclegan", *domains, out, *TINY_FLAGS)
    assert result.returncode == 0, result.stderr
    assert f"Translated 4 images into {out / 'Data'}" in result.stdout
    return out


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    def read(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            return np.asarray(image, dtype=np.int16)
    return {path.name: read(path) for path in image_files(folder)}


def _assert_same_translations(folder: Path, reference: Path, tolerance: int) -> None:
    """Same file names; pixels within `tolerance` levels of 255 (float rounding of another runtime).

    The first of two epochs' checkpoint already differs from the last by 4-10 levels, so this tells models apart.
    """
    got, expected = _pixels(folder), _pixels(reference)
    assert got.keys() == expected.keys()
    assert max(np.abs(got[name] - expected[name]).max() for name in got) <= tolerance


def test_train_translates_every_source_image(run, domains):
    source, target = domains
    lines = manifest_lines(run)
    assert len(image_files(run / "Data")) == len(lines) == len(image_files(source)) == 4
    assert {(line["direction"], line["annotation"][0]["name"]) for line in lines} == {("source_to_target", target.name)}
    assert (run / "config.json").is_file() and (run / "model" / "latest").is_file()


def test_running_the_same_command_again_adds_nothing(cli, run, domains):
    data, lines = tree_digest(run / "Data"), manifest_lines(run)
    result = cli("cyclegan", *domains, run, *TINY_FLAGS)
    assert result.returncode == 0, result.stderr
    assert "Translated 0 images" in result.stdout
    assert tree_digest(run / "Data") == data and manifest_lines(run) == lines


def test_predict_from_a_run_folder(cli, run, domains, tmp_path):
    source, target = domains
    out = tmp_path / "predicted"  # TARGET is not read in predict mode: a missing folder is fine
    result = cli("cyclegan", source, tmp_path / "no-target", out, "--predict", "--resume", run, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    lines = manifest_lines(out)
    assert len(lines) == 4 and {line["annotation"][0]["name"] for line in lines} == {target.name}
    assert {line["checkpoint_sha256"] for line in lines} == {line["checkpoint_sha256"] for line in manifest_lines(run)}
    _assert_same_translations(out / "Data", run / "Data", tolerance=1)


def test_predict_from_the_exported_onnx(cli, run, domains, tmp_path):
    source, target = domains
    exported = cli("export", run)
    assert exported.returncode == 0, exported.stderr
    onnx = run / "model" / "generator.onnx"
    assert onnx.is_file()
    out = tmp_path / "onnx"
    result = cli("cyclegan", source, target, out, "--predict", "--resume", onnx, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    lines = manifest_lines(out)
    assert len(lines) == 4 and {line["annotation"][0]["name"] for line in lines} == {target.name}
    # ONNX computes in fp32, so it is compared with the same checkpoint's torch translations in fp32 (the run's own
    # Data/ was translated in bf16 where the CPU has it natively)
    fp32 = tmp_path / "fp32"
    result = cli("cyclegan", source, target, fp32, "--predict", "--resume", run, "--device", "cpu",
                 "--precision", "fp32")
    assert result.returncode == 0, result.stderr
    _assert_same_translations(out / "Data", fp32 / "Data", tolerance=2)


ERRORS = {  # case: (SOURCE, TARGET, extra options, what the one line says)
    "empty source": ("empty", "target", [], "contains no images"),
    "missing target": ("source", "missing", [], "does not exist"),
    "height not a power of two": ("source", "target", ["--image-height", "24"], "power of two"),
    "two channels": ("source", "target", ["--image-channel", "2"], "image_channel"),
    "predict without resume": ("source", "target", ["--predict"], "--predict needs --resume"),
    "corrupt checkpoint": ("source", "target", ["--resume", "bad.pt"], "bad.pt is damaged"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_input_is_one_error_line_and_exit_2(case, in_process, domains, tmp_path):
    source, target, options, expected = ERRORS[case]
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint" * 64)
    paths = {"source": domains[0], "target": domains[1], "empty": tmp_path / "empty", "missing": tmp_path / "missing",
             "bad.pt": tmp_path / "bad.pt"}
    options = [paths.get(option, option) for option in options]
    result = in_process("cyclegan", paths[source], paths[target], tmp_path / "out", *TINY_FLAGS, *options)  # last wins
    assert expected in assert_one_line_error(result)
