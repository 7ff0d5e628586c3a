"""The StackGAN operator in process: both stages, stage II on a frozen stage I, generation with its manifest
(exact resume after a stop: test_battery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
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


def test_generate_command_from_a_captions_file_or_the_prepared_test_split(trained, prepared: Path, in_process,
                                                                           tmp_path: Path) -> None:
    """`ganfactory generate RUN OUT` dispatches to StackGAN's sampler: --generate-num images per caption of
    --captions FILE (or of --data DIR's test split), stage-II size; without either, or with a StyleGAN flag,
    one sentence and exit 2."""
    result, _ = trained
    captions = tmp_path / "captions.txt"
    captions.write_text("a small red bird\na white flower\n", encoding="utf-8")
    out = tmp_path / "from_captions"
    done = in_process("generate", result.run.root, out, "--captions", captions, "--generate-num", "2", "--device",
                      "cpu")
    assert done.returncode == 0, done.stderr
    files = image_files(out / "Data")
    assert len(files) == len(manifest_lines(out)) == 4 and "Wrote 4 images" in done.stdout
    for path in files:
        with Image.open(path) as image:
            assert image.size == (32, 32)
    assert {line["caption"] for line in manifest_lines(out)} == {"a small red bird", "a white flower"}
    split = in_process("generate", result.run.root, tmp_path / "from_split", "--data", prepared, "--generate-num", "2",
                       "--device", "cpu")
    assert split.returncode == 0 and len(image_files(tmp_path / "from_split" / "Data")) == 10, split.stderr
    for options, expected in (((), "Nothing to generate from: pass --captions FILE"),
                              (("--captions", captions, "--truncation", "0.5"), "takes no --truncation; drop it")):
        refused = in_process("generate", result.run.root, tmp_path / "refused", *options, "--device", "cpu")
        lines = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert refused.returncode == 2 and len(lines) == 1 and expected in lines[0], refused.stderr
