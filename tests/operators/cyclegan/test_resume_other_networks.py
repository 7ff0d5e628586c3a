"""Issue 13, fault 5 for CycleGAN: a checkpoint of other networks is refused in one sentence (no raw
state_dict error), and a run folder's config.json is not rewritten to values its checkpoints do not have."""

from __future__ import annotations

import pytest

from ganfactory.errors import CheckpointError
from ganfactory.operators.cyclegan.operator import run_cyclegan

from .conftest import tiny_config

pytestmark = pytest.mark.usefixtures("single_thread")


def test_other_networks_are_refused_in_one_sentence(domains, tmp_path):
    run = tmp_path / "run"
    run_cyclegan(*domains, run, tiny_config(max_epoch=1), progress_bar=False)
    config_before = (run / "config.json").read_bytes()
    with pytest.raises(CheckpointError, match="n_blocks 1 in the checkpoint, 2 now"):
        run_cyclegan(*domains, run, tiny_config(max_epoch=1, n_blocks=2), progress_bar=False)
    assert (run / "config.json").read_bytes() == config_before
    with pytest.raises(CheckpointError, match="base_channels 4 in the checkpoint, 8 now"):
        run_cyclegan(*domains, tmp_path / "other", tiny_config(max_epoch=1, base_channels=8, resume=str(run)),
                     progress_bar=False)
