"""Both operators as 2-process data-parallel runs under torchrun (gloo on the CPU): they finish, every rank ends
with the same weights, optimiser and augmentation state, and only rank 0 writes. A worker that dies mid-run is
relaunched by torchrun's --max-restarts and resumes from the latest checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganfactory.engine.checkpoint import list_checkpoints
from ganfactory.engine.distributed import DistributedContext, local_batch_size
from ganfactory.engine.rng import fork_generator_for_rank
from ganfactory.errors import ConfigError

from .conftest import CYCLEGAN_FLAGS, STYLEGAN_FLAGS, manifest_lines, rank_digests, stats_lines

pytestmark = pytest.mark.subprocess  # child processes: run after the fast files (tests/conftest.py)

# Parts of the training state each rank keeps for itself: its random streams (different data and latents per rank)
# and CycleGAN's image pools (filled with that rank's fakes). Everything else must agree bit for bit.
PER_RANK = {"stylegan": {"data_rng", "noise_rng"}, "cyclegan": {"data_rng", "pools"}}


def _assert_ranks_agree(probe: Path, operator: str) -> None:
    first, second = rank_digests(probe)
    assert first.keys() == second.keys()
    differing = {part for part in first if first[part] != second[part]}
    assert differing == PER_RANK[operator], f"parts that differ across ranks: {sorted(differing)}"


def _final_state(out: Path) -> dict:
    checkpoint = list_checkpoints(out / "model")[0]
    assert (out / "model" / "latest").read_text().strip() == checkpoint.name
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["operator"]


def _assert_one_writer(out: Path, *, ticks: int, attempts: int = 1) -> None:
    """What only rank 0 writes exists once: one stats line and sample grid per tick, one TensorBoard file per
    attempt (a process that starts opens a new one)."""
    assert [line["tick"] for line in stats_lines(out)] == list(range(1, ticks + 1))
    assert len(list((out / "logs").glob("events.out.tfevents.*"))) == attempts
    assert len(list((out / "samples").glob("fakes_*.png"))) == ticks + 1  # + fakes_init.png
    assert not list(out.rglob("*.tmp*"))


def test_stylegan_two_ranks_agree_and_rank_0_writes_once(torchrun, two_classes, tmp_path):
    out = tmp_path / "run"
    result = torchrun("stylegan", two_classes, out, *STYLEGAN_FLAGS)
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_ranks_agree(tmp_path / "probe", "stylegan")
    state = _final_state(out)
    assert (state["images_seen"], state["steps"]) == (100, 25)  # the global batch counts, 2 images per rank per step
    _assert_one_writer(out, ticks=3)
    lines = manifest_lines(out)
    assert len(lines) == len({line["id"] for line in lines}) == len({line["source"] for line in lines}) == 10
    for name in ("cats", "dogs"):
        assert len(list((out / "Data" / name).iterdir())) == 5
    assert (out / "validation.json").is_file() and '"world_size": 2' in (out / "config.json").read_text()


def test_cyclegan_two_ranks_agree_and_rank_0_writes_once(torchrun, domains, tmp_path):
    out = tmp_path / "run"
    result = torchrun("cyclegan", *domains, out, *CYCLEGAN_FLAGS)
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_ranks_agree(tmp_path / "probe", "cyclegan")
    assert _final_state(out)["steps"] == 6  # 3 epochs of ceil(4 images / global batch 2) steps
    _assert_one_writer(out, ticks=3)
    lines = manifest_lines(out)
    assert len(lines) == 4 and len({line["id"] for line in lines}) == 4
    assert sorted(p.name for p in (out / "Data").iterdir()) == sorted(p.name for p in domains[0].iterdir())
    assert (out / "validation_source.json").is_file() and (out / "validation_target.json").is_file()


def test_a_rank_that_dies_is_restarted_and_the_run_resumes(torchrun, two_classes, tmp_path):
    """Rank 1 exits with code 1 after step 15; torchrun restarts both ranks, which resume from step 10's checkpoint."""
    out = tmp_path / "run"
    result = torchrun("stylegan", two_classes, out, *STYLEGAN_FLAGS, options=("--max-restarts", "1"),
                      env={"GANFACTORY_TEST_CRASH": "1:15"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "probe" / "crashed").is_file()
    assert result.stderr.count("Resumed from ckpt-000000010.pt") == 2  # both ranks of the second attempt
    _assert_ranks_agree(tmp_path / "probe", "stylegan")
    state = _final_state(out)
    assert (state["images_seen"], state["steps"]) == (100, 25)
    _assert_one_writer(out, ticks=3, attempts=2)
    assert len({line["id"] for line in manifest_lines(out)}) == len(manifest_lines(out)) == 10


def test_the_global_batch_must_split_evenly_over_the_ranks():
    assert local_batch_size(8, DistributedContext(rank=1, world_size=4)) == 2
    with pytest.raises(ConfigError, match="--batch-size 1 does not split evenly over the 2 training processes"):
        local_batch_size(1, DistributedContext(rank=0, world_size=2))


def test_after_a_resume_each_rank_forks_its_own_stream_from_rank_0s():
    saved = torch.Generator().manual_seed(7).get_state()
    streams = []
    for rank in (0, 1, 2, 1):
        generator = torch.Generator()
        generator.set_state(saved)
        fork_generator_for_rank(generator, rank)
        streams.append(torch.rand(4, generator=generator))
    assert torch.equal(streams[0], torch.rand(4, generator=torch.Generator().manual_seed(7)))  # rank 0 goes on
    assert not torch.equal(streams[0], streams[1]) and not torch.equal(streams[1], streams[2])
    assert torch.equal(streams[1], streams[3])  # deterministic
