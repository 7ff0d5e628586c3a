"""The StackGAN operator in process: both stages, stage II on a frozen stage I, generation with its manifest
(exact resume after a stop: test_battery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.run_outputs import image_files, manifest_lines, tree_digest

from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint
from ganfactory.operators.stackgan.operator import run_stackgan

from .conftest import tiny_config


@pytest.fixture(scope="module")
def trained(prepared: Path, tmp_path_factory):
    before = tree_digest(prepared)
    result = run_stackgan(prepared, tmp_path_factory.mktemp("run") / "run", tiny_config(), progress_bar=False)
    return result, before


def _equal_states(a: dict, b: dict) -> list[str]:
    return [key for key in a if not torch.equal(a[key], b[key])]


def test_stage2_reads_a_frozen_stage1(trained) -> None:
    result, _ = trained
    stage1 = load_checkpoint(list_checkpoints(result.run.model_dir / "stage1")[0])["operator"]
    first2, last2 = (load_checkpoint(p)["operator"] for p in sorted(list_checkpoints(result.run.model_dir / "stage2")))
    assert stage1["steps"] == 2 and last2["steps"] == 2 and first2["steps"] == 1
    # weights and BN statistics of stage I are exactly as stage I ended, after every stage-II step
    assert not _equal_states(stage1["G"], first2["G1"]) and not _equal_states(stage1["G"], last2["G1"])
    assert _equal_states(first2["G"], last2["G"])  # while stage II itself did learn
    # stage II's optimiser holds only stage II's parameters
    count = sum(1 for _ in last2["opt_G"]["param_groups"][0]["params"])
    buffers = ("running", "num_batches", "ca.embedding_")  # BN statistics, CA's standardisation statistics
    assert count == len([k for k, v in last2["G"].items() if v.dtype.is_floating_point
                         and not any(b in k for b in buffers)])


def test_samples_manifest_and_inputs(trained, prepared: Path) -> None:
    result, before = trained
    assert tree_digest(prepared) == before
    samples = {p.name for p in result.run.samples_dir.iterdir()}
    assert {"fakes_stage1_init.png", "fakes_stage2_000000002.png"} <= samples
    lines = manifest_lines(result.run.root)
    # the test split (seed 0): birds/d.png (3 captions) and flöwers/été.png (2 captions); 2 images each
    assert len(lines) == len(image_files(result.run.data_dir)) == result.images_written == 10
    first = lines[0]
    assert first["caption"] and first["stage"] == "stage2" and first["operator"] == "stackgan"
    assert {line["annotation"][0]["name"] for line in lines} == {"birds", "flöwers"}
    assert sorted({line["seed"] for line in lines}) == [0, 1]
    again = run_stackgan(prepared, result.run.root, tiny_config(), progress_bar=False)
    assert again.images_written == 0 and len(manifest_lines(result.run.root)) == 10
