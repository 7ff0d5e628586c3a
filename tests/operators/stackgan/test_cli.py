"""Generation only (--predict --resume) from either stage and a captions file; one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from tests.run_outputs import image_files, manifest_lines

from ganfactory.config import build_config
from ganfactory.errors import ConfigError, GanFactoryError
from ganfactory.operators.stackgan.config import StackGANConfig
from ganfactory.operators.stackgan.operator import run_stackgan

from .conftest import tiny_config


@pytest.fixture(scope="module")
def run_folder(prepared: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    run_stackgan(prepared, out, tiny_config(stage1_epochs=1, stage2_epochs=1, generate_num=0), progress_bar=False)
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganfactory", "-q", *args], capture_output=True, text=True,
                          timeout=300)


def test_predict_from_a_captions_file_on_the_command_line(run_folder: Path, prepared: Path, tmp_path: Path) -> None:
    captions = tmp_path / "captions.txt"
    captions.write_text("a green bird\n\nune fleur jaune, été\n", encoding="utf-8")
    out = tmp_path / "gen"
    done = _cli("stackgan", str(prepared), str(out), "--predict", "--resume", str(run_folder), "--captions",
                str(captions), "--generate-num", "3", "--seed", "5")
    assert done.returncode == 0, done.stderr
    lines = manifest_lines(out)
    assert [line["caption"] for line in lines] == ["a green bird"] * 3 + ["une fleur jaune, été"] * 3
    assert [line["seed"] for line in lines] == [5, 6, 7, 5, 6, 7]
    assert all(line["annotation"] == [] and line["stage"] == "stage2" for line in lines)  # no class for free text
    files = image_files(out / "Data")
    assert len(files) == 6 and Image.open(files[0]).size == (32, 32)


def test_predict_from_stage1_gives_stage1_images(run_folder: Path, prepared: Path, tmp_path: Path) -> None:
    config = tiny_config(predict=True, resume=str(run_folder / "model" / "stage1"), generate_num=1)
    result = run_stackgan(prepared, tmp_path / "gen1", config, progress_bar=False)
    files = image_files(tmp_path / "gen1" / "Data")
    assert result.images_written == len(files) == 5  # one per test caption
    assert Image.open(files[0]).size == (16, 16)
    assert {line["stage"] for line in manifest_lines(tmp_path / "gen1")} == {"stage1"}
    # the same seed gives the same image again
    again = run_stackgan(prepared, tmp_path / "gen2", config, progress_bar=False)
    assert again.images_written == 5
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in image_files(tmp_path / "gen2" / "Data")]


def test_one_line_errors(tmp_path: Path, captioned: Path, prepared: Path, run_folder: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    for args, expected in [
        (("stackgan", str(captioned), str(tmp_path / "o1"), "--stage1-epochs", "1"),
         "run 'ganfactory stackgan-prepare"),
        (("stackgan", str(prepared), str(tmp_path / "o2"), "--predict", "--resume", str(run_folder), "--captions",
          str(empty)), "holds no sentence"),
    ]:
        done = _cli(*args)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr, done.stderr


def test_parameter_errors_name_the_parameter(run_folder: Path, prepared: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="resolution .* must be larger than stage1_resolution"):
        build_config(StackGANConfig, overrides={"stage1_resolution": 64, "resolution": 64})
    with pytest.raises(ConfigError, match="batch_size"):
        build_config(StackGANConfig, overrides={"batch_size": 1})
    stage2 = str(run_folder / "model" / "stage2")
    with pytest.raises(GanFactoryError, match="stage-II checkpoint"):
        run_stackgan(prepared, tmp_path / "o3", tiny_config(resume=stage2), progress_bar=False)
    assert json.loads((run_folder / "config.json").read_text())["operator"] == "stackgan"


def test_onnx_export_matches_torch_and_generates(run_folder: Path, prepared: Path, tmp_path: Path) -> None:
    import torch

    from ganfactory.engine.checkpoint import load_checkpoint, resolve_checkpoint_path
    from ganfactory.export.cli import export_run
    from ganfactory.operators.stackgan.models import noise, pipeline_from_checkpoint
    from ganfactory.operators.stackgan.onnx import OnnxTextToImage

    path = export_run(run_folder, tmp_path / "stackgan.onnx")
    checkpoint = resolve_checkpoint_path(run_folder)
    pipeline, arch, _ = pipeline_from_checkpoint(load_checkpoint(checkpoint), checkpoint)
    exported = OnnxTextToImage(path)
    assert exported.arch["stage"] == "stage2" and exported.arch["resolution"] == 32
    for batch in (1, 5):  # dynamic batch
        z, eps1, eps2 = noise(list(range(batch)), z_dim=arch.z_dim, condition_dim=arch.condition_dim)
        embedding = torch.randn(batch, arch.embedding_dim)
        with torch.no_grad():
            expected = pipeline(embedding, z, eps1, eps2)
        got = exported(embedding, z, eps1, eps2)
        assert got.shape == (batch, 3, 32, 32)
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    result = run_stackgan(prepared, tmp_path / "gen", tiny_config(predict=True, resume=str(path), generate_num=1),
                          progress_bar=False)
    assert result.images_written == 5 and {line["stage"] for line in manifest_lines(tmp_path / "gen")} == {"stage2"}
