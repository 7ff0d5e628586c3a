"""Issue 21, section 3, fault 15: a prepared folder without a test split trained both stages, then stopped asking
for --captions (exit 2). What generation after training needs (test captions, or a readable --captions file) is
now checked before the first step; --generate-num 0 trains without needing either."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganfactory.errors import InputError
from ganfactory.operators.stackgan.operator import run_stackgan
from ganfactory.operators.stackgan.prepare import prepare_stackgan_dataset
from run_outputs import image_files, manifest_lines

from .conftest import build_captioned_folder, tiny_config


@pytest.fixture(scope="module")
def no_test_split(tmp_path_factory, encoder) -> Path:
    """The captioned folder prepared with --test-fraction 0: every image trains, none is held out."""
    root = tmp_path_factory.mktemp("nosplit")
    out = root / "prepared"
    result = prepare_stackgan_dataset(build_captioned_folder(root), out, encoder=encoder, test_fraction=0.0)
    assert result.test == 0
    return out


def _checkpoints(run: Path) -> list[Path]:
    return sorted(run.rglob("*.pt")) if run.exists() else []


def test_no_test_split_and_no_captions_is_refused_before_training(no_test_split, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(InputError, match="no test images .*--captions FILE"):
        run_stackgan(no_test_split, run, tiny_config(stage1_epochs=1, stage2_epochs=1), progress_bar=False)
    assert _checkpoints(run) == []  # before the fix: both stages trained, then this error


def test_a_captions_file_without_a_sentence_is_refused_before_training(no_test_split, tmp_path):
    captions = tmp_path / "captions.txt"
    captions.write_text("\n \n", encoding="utf-8")
    run = tmp_path / "run"
    with pytest.raises(InputError, match="holds no sentence"):
        run_stackgan(no_test_split, run, tiny_config(stage1_epochs=1, stage2_epochs=1, captions=str(captions)),
                     progress_bar=False)
    assert _checkpoints(run) == []


def test_no_test_split_trains_and_generates_from_a_captions_file(no_test_split, tmp_path):
    captions = tmp_path / "captions.txt"
    captions.write_text("a small red bird\n", encoding="utf-8")
    run = tmp_path / "run"
    result = run_stackgan(no_test_split, run, tiny_config(stage1_epochs=1, stage2_epochs=1, generate_num=2,
                                                          captions=str(captions)), progress_bar=False)
    assert result.images_written == 2 == len(image_files(run / "Data"))
    assert [line["caption"] for line in manifest_lines(run)] == ["a small red bird"] * 2


def test_generate_num_zero_trains_without_a_test_split(no_test_split, tmp_path):
    run = tmp_path / "run"
    result = run_stackgan(no_test_split, run, tiny_config(stage1_epochs=1, stage2_epochs=1, generate_num=0),
                          progress_bar=False)
    assert result.images_written == 0 and _checkpoints(run / "model" / "stage2")
