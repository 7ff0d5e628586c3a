"""output.writable, the one check every writing command makes before its long part (issue 21, fault 14)."""

from __future__ import annotations

import os

import pytest

from ganfactory.errors import InputError
from ganfactory.output.writable import require_writable_output


def test_a_writable_out_passes_and_nothing_is_left_or_created(tmp_path):
    require_writable_output(tmp_path / "new" / "out", tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither OUT nor a probe file


def test_a_file_in_the_way_is_one_sentence(tmp_path):
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(InputError, match=r"Cannot create the output folder .*blocker/out: .*blocker is a file"):
        require_writable_output(tmp_path / "blocker" / "out")
    with pytest.raises(InputError, match=r"The output folder .*blocker is a file; move it away"):
        require_writable_output(tmp_path / "blocker")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    with pytest.raises(InputError, match="broken symlink"):
        require_writable_output(tmp_path / "dangling" / "out")


@pytest.mark.parametrize("kind, words", [("read_only", "read-only file system"), ("full", "No space left")])
def test_a_read_only_or_full_file_system_is_one_sentence(unwritable_fs, kind, words):
    root = unwritable_fs(kind)
    with pytest.raises(InputError, match=words) as caught:
        require_writable_output(root / "out")
    assert str(root) in str(caught.value) and "\n" not in str(caught.value)
    assert not (root / "out").exists()
