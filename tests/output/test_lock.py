"""OUT's lock: one whole-command writer, or the shards of one generation side by side (each shard once)."""

from __future__ import annotations

import pytest

from ganfactory.output.lock import OutputInUse, exclusive_output


def test_shards_share_out_but_each_runs_once_and_exclude_a_whole_writer(tmp_path):
    with exclusive_output(tmp_path, shard="1-of-2"):
        with exclusive_output(tmp_path, shard="2-of-2"):  # another shard of the same generation: fine
            with pytest.raises(OutputInUse, match="being written by another ganfactory process"):
                exclusive_output(tmp_path, shard="2-of-2").__enter__()  # the same shard twice
            with pytest.raises(OutputInUse):
                exclusive_output(tmp_path).__enter__()  # an unsharded writer while shards run
    with exclusive_output(tmp_path):
        with pytest.raises(OutputInUse):
            exclusive_output(tmp_path, shard="1-of-2").__enter__()  # a shard while a whole command writes
    with exclusive_output(tmp_path, shard="1-of-2"):  # every lock was released
        pass
