"""The CycleGAN operator in process: real training steps, exact resume, translation + manifest, ONNX parity."""

from __future__ import annotations

from pathlib import Path
from statistics import mean

import pytest
import torch
from PIL import Image

from ganfactory.data.dataset import load_image_folder
from ganfactory.engine.checkpoint import file_sha256, list_checkpoints, load_checkpoint
from ganfactory.engine.loop import TrainingInterrupted
from ganfactory.engine.precision import FP32
from ganfactory.export.cli import export_run
from ganfactory.operators.cyclegan.architecture import CycleGANArchitecture
from ganfactory.operators.cyclegan.hparams import CycleGANTraining
from ganfactory.operators.cyclegan.operator import run_cyclegan
from ganfactory.operators.cyclegan.training import CycleGANTrainable

from .conftest import (
    assert_one_line_error,
    assert_onnx_translates_like,
    image_files,
    manifest_lines,
    stop_after_steps,
    tiny_config,
    tree_digest,
)

NETS = ("G_AB", "G_BA", "D_A", "D_B")

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def trained(domains, tmp_path_factory):
    """One finished RGB run (SOURCE -> TARGET, 2 epochs), with the input trees hashed before it started."""
    before = {folder: tree_digest(folder) for folder in domains}
    out = tmp_path_factory.mktemp("trained") / "run"
    assert torch.get_num_threads() == 1
    return run_cyclegan(*domains, out, tiny_config(), progress_bar=False), before


def test_training_steps_lower_the_cycle_loss(domains):
    config = tiny_config(g_learning_rate=2e-3, d_learning_rate=2e-3, max_epoch=100)
    source, target = (load_image_folder(folder, resolution=config.load_hw(), mode="crop") for folder in domains)
    trainable = CycleGANTrainable(hparams=CycleGANTraining.from_config(config), source=source, target=target,
                                  device=torch.device("cpu"), precision=FP32)
    cycle = [trainable.train_step()["loss/cycle_A"] for _ in range(30)]
    assert mean(cycle[-5:]) < 0.6 * mean(cycle[:5]), cycle


def test_resume_after_a_stop_equals_an_uninterrupted_run(domains, tmp_path, monkeypatch):
    # pool_size 2 fills after one step, so the pool's random swaps run too; 3 epochs of 2 steps cross the
    # lr decay (decay_fraction 0.5); the stop comes mid-epoch, between the per-epoch checkpoints.
    config = tiny_config(max_epoch=3, pool_size=2)
    whole = run_cyclegan(*domains, tmp_path / "whole", config, progress_bar=False)

    stop = stop_after_steps(monkeypatch, CycleGANTrainable, 3)
    with pytest.raises(TrainingInterrupted):
        run_cyclegan(*domains, tmp_path / "split", config, progress_bar=False, stop=stop)
    monkeypatch.undo()
    assert list_checkpoints(tmp_path / "split" / "model")[0].name == "ckpt-000000003.pt"
    assert not (tmp_path / "split" / "output_0.manifest").exists()

    resumed = run_cyclegan(*domains, tmp_path / "split", config, progress_bar=False)
    a, b = (load_checkpoint(result.checkpoint)["operator"] for result in (whole, resumed))
    assert a["steps"] == b["steps"] == 6 and resumed.epochs == whole.epochs == 3
    for net in NETS:
        assert a[net].keys() == b[net].keys()
        unequal = [key for key in a[net] if not torch.equal(a[net][key], b[net][key])]
        assert not unequal, f"{net}: {unequal}"
    assert tree_digest(whole.run.data_dir) == tree_digest(resumed.run.data_dir)


def test_translates_every_source_image_once_with_its_manifest_line(trained, domains):
    result, _ = trained
    source, target = domains
    files, lines = image_files(result.run.data_dir), manifest_lines(result.run.root)
    assert result.images_written == len(files) == len(lines) == len(image_files(source)) == 4
    assert {line["source_file"] for line in lines} == {str(p.resolve()) for p in image_files(source)}
    assert {line["source"] for line in lines} == {str(p.resolve()) for p in files}
    sha = file_sha256(result.checkpoint)
    for line in lines:
        assert line["direction"] == "source_to_target" and line["operator"] == "cyclegan" and line["synthetic"]
        assert line["annotation"] == [{"name": target.name, "type": "modelarts/image_classification"}]
        assert line["checkpoint_sha256"] == sha and len({line["id"] for line in lines}) == len(lines)
    for path in files:
        with Image.open(path) as image:
            assert (image.mode, image.size) == ("RGB", (32, 16))


def test_running_again_adds_no_lines_and_no_files(trained, domains):
    result, _ = trained
    data_before, lines_before = tree_digest(result.run.data_dir), manifest_lines(result.run.root)
    again = run_cyclegan(*domains, result.run.root, tiny_config(), progress_bar=False)
    assert again.images_written == 0 and again.checkpoint == result.checkpoint
    assert manifest_lines(result.run.root) == lines_before
    assert tree_digest(result.run.data_dir) == data_before


def test_source_and_target_are_unchanged(trained, domains):
    _, before = trained
    assert {folder: tree_digest(folder) for folder in domains} == before


def test_grayscale_both_directions(domains, tmp_path):
    source, target = domains
    result = run_cyclegan(source, target, tmp_path / "gray", tiny_config(image_channel=1, direction="both",
                                                                         max_epoch=1), progress_bar=False)
    forward, backward = result.run.data_dir / "source_to_target", result.run.data_dir / "target_to_source"
    assert len(image_files(forward)) == 4 and len(image_files(backward)) == 3 and result.images_written == 7
    for path in image_files(result.run.data_dir):
        with Image.open(path) as image:
            assert (image.mode, image.size) == ("L", (32, 16))
    labels = {(line["direction"], line["annotation"][0]["name"], Path(line["source_file"]).parent.name)
              for line in manifest_lines(result.run.root)}
    assert labels == {("source_to_target", target.name, source.name), ("target_to_source", source.name, target.name)}


def test_onnx_export_matches_torch_at_dynamic_sizes(trained):
    result, _ = trained
    path = export_run(result.run.root)
    state = load_checkpoint(result.checkpoint)["operator"]
    G = CycleGANArchitecture.from_config(tiny_config()).generator().eval()
    G.load_state_dict(state["G_AB"])
    assert_onnx_translates_like(path, G)


def test_generate_translates_a_source_folder_and_refuses_what_a_cyclegan_model_cannot_do(trained, domains,
                                                                                          in_process, tmp_path):
    """`ganfactory generate RUN OUT --source DIR` dispatches to CycleGAN's sampler: one translation per source
    image at the trained size; a missing --source or a StyleGAN/DatasetGAN flag is one sentence, exit 2."""
    run = trained[0].run.root
    source = domains[0]
    out = tmp_path / "translated"
    result = in_process("generate", run, out, "--source", source, "--device", "cpu", "--precision", "fp32")
    assert result.returncode == 0, result.stderr
    assert f"Wrote 4 images to {out / 'Data'}" in result.stdout
    files = image_files(out / "Data")
    assert len(files) == len(manifest_lines(out)) == 4
    for path in files:
        with Image.open(path) as image:
            assert image.size == (32, 16)  # the trained width x height, not the sources' 40x20
    # the same translations as the run's own (same checkpoint, same sources)
    assert {p.name: p.read_bytes() for p in files} == {p.name: p.read_bytes() for p in image_files(run / "Data")}
    for options, expected in (((), "needs --source PATH for it"),
                              (("--source", source, "--class-name", "a"), "takes no --class-name; drop it"),
                              (("--source", source, "--truncation", "0.5"), "takes no --truncation; drop it")):
        refused = in_process("generate", run, tmp_path / "refused", *options)
        message = assert_one_line_error(refused)
        assert "is a cyclegan model" in message and expected in message, message
    assert not (tmp_path / "refused").exists()
