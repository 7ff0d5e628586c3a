"""Temporary files of atomic writes on storage that several machines share (shards of one generation): a machine
removes only its own dead writers' files, never one another machine may be writing right now."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ganfactory.output import atomic
from ganfactory.output.atomic import atomic_write_text, remove_stale_temp_files


def _dead_pid() -> int:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    return dead.pid


def test_only_this_machines_dead_writers_files_are_removed(tmp_path: Path) -> None:
    pid, host = _dead_pid(), atomic._host()
    mine = tmp_path / f".seed00000001.png.tmp-{pid}@{host}"
    legacy = tmp_path / f".config.json.tmp-{pid}"  # written before temp names carried the host
    foreign = tmp_path / f".seed00000002.png.tmp-{pid}@another-box.lab"
    foreign_old = tmp_path / f".seed00000003.png.tmp-{pid}@another-box.lab"
    live = tmp_path / f".seed00000004.png.tmp-{os.getpid()}@{host}"
    for path in (mine, legacy, foreign, foreign_old, live):
        path.write_bytes(b"partial")
    day_and_more = time.time() - atomic.FOREIGN_TEMP_AGE_S - 60
    os.utime(foreign_old, (day_and_more, day_and_more))
    assert remove_stale_temp_files(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([foreign.name, live.name])


def test_atomic_writes_name_their_machine_and_leave_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (seen.append(Path(src).name), real_replace(src, dst)))
    atomic_write_text(tmp_path / "config.json", "{}\n")
    assert seen == [f".config.json.tmp-{os.getpid()}@{atomic._host()}"]
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
