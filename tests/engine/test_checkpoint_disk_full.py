"""Issue 13, fault 6: a full disk while saving a checkpoint.

torch.save reports a full disk as RuntimeError ("[enforce fail at inline_container.cc:672] unexpected
pos"), not OSError, so it used to surface as "internal error" and leave the temporary file behind. Now it
is one sentence naming the folder and the space needed, and no temporary file stays; temporary files left
by a killed writer are removed when the run folder is next opened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import namedtuple

import pytest
import torch

from ganfactory.engine.checkpoint import LATEST_POINTER, list_checkpoints, save_checkpoint
from ganfactory.errors import GanFactoryError
from ganfactory.output.layout import open_run_folder

STATE = {"weights": torch.zeros(64, 1024), "step": 3}  # 256 KiB of tensors
Usage = namedtuple("Usage", "total used free")


def _torch_save_on_a_full_disk(obj, path, *args, **kwargs):
    with open(path, "wb") as handle:  # part of the file gets written before the device is full
        handle.write(b"\0" * 4096)
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4160 vs 4096")


def test_full_disk_is_one_sentence_with_folder_and_space_and_no_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", _torch_save_on_a_full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10 << 20, 10 << 20, 1000))
    with pytest.raises(GanFactoryError) as caught:
        save_checkpoint(STATE, tmp_path / "model", step=3)
    message = str(caught.value)
    assert message.startswith("No space left on the device while writing")
    assert str(tmp_path / "model") in message and "needs about 0.2 MB" in message and "\n" not in message
    assert list((tmp_path / "model").iterdir()) == []  # no temp file, no checkpoint, no `latest`


def test_other_torch_save_failure_is_one_sentence_too(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", _torch_save_on_a_full_disk)
    with pytest.raises(GanFactoryError, match=r"Could not write .*ckpt-000000003.pt .*needs about 0.2 MB"):
        save_checkpoint(STATE, tmp_path / "model", step=3)
    assert list((tmp_path / "model").iterdir()) == []


def test_a_failed_save_keeps_the_previous_checkpoint_and_pointer(tmp_path, monkeypatch):
    first = save_checkpoint(STATE, tmp_path / "model", step=1)
    monkeypatch.setattr(torch, "save", _torch_save_on_a_full_disk)
    with pytest.raises(GanFactoryError):
        save_checkpoint(STATE, tmp_path / "model", step=2)
    assert list_checkpoints(tmp_path / "model") == [first]
    assert (tmp_path / "model" / LATEST_POINTER).read_text().strip() == first.name


def test_stale_temp_files_of_a_killed_writer_are_removed_at_start(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is no longer running
    model, cls = tmp_path / "run" / "model", tmp_path / "run" / "Data" / "cats"
    model.mkdir(parents=True)
    cls.mkdir(parents=True)
    stale = [model / f".ckpt-000000010.pt.tmp-{dead.pid}", cls / f".seed00000001.png.tmp-{dead.pid}",
             tmp_path / "run" / f".config.json.tmp-{dead.pid}"]
    for path in stale:
        path.write_bytes(b"\0" * 1024)
    live = model / f".ckpt-000000011.pt.tmp-{os.getpid()}"  # a writer that is still running
    live.write_bytes(b"\0")
    open_run_folder(tmp_path / "run")
    assert not any(path.exists() for path in stale)
    assert live.exists()
