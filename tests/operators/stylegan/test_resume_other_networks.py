"""Issue 13, fault 5: another resolution on the same data loads what fits (transfer learning) from --resume,
and a run folder's checkpoints are never continued with other networks, nor its config.json rewritten."""

from __future__ import annotations

import pytest

from ganfactory.errors import CheckpointError

from .conftest import TINY, train


def test_resume_at_another_resolution_on_the_same_data_is_transfer_learning(trained, two_classes, tmp_path,
                                                                               caplog):
    caplog.set_level("INFO", logger="ganfactory")
    result = train(two_classes, tmp_path / "run32", resume=str(trained), resolution=32, total_kimg=0.02,
                   generate_num=1)
    assert "Transfer learning" in caplog.text and "resolution 16 in the checkpoint, 32 now" in caplog.text
    assert result.done == pytest.approx(0.02, abs=0.01) and result.images_written == 2  # counters started at 0


def test_a_finished_run_folder_refuses_another_resolution_and_keeps_its_config(two_classes, tmp_path):
    out = tmp_path / "run"
    train(two_classes, out, total_kimg=0.02, generate_num=1)
    config_before = (out / "config.json").read_bytes()
    with pytest.raises(CheckpointError) as info:
        train(two_classes, out, total_kimg=0.02, generate_num=1, resolution=32)
    message = str(info.value)
    assert "resolution 16 in the checkpoint, 32 now" in message and "--resume" in message
    assert len(message.splitlines()) == 1
    assert (out / "config.json").read_bytes() == config_before
    assert TINY["resolution"] == 16
