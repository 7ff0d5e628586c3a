"""`--mode cut` and `--mode fastcut` (Park et al. 2020): the PatchNCE loss, real training steps, exact resume after a
stop and after a real SIGTERM, translation + manifest, ONNX parity, predict, and one-line errors."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.data.dataset import load_image_folder
from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint
from ganfactory.engine.loop import TrainingInterrupted
from ganfactory.engine.precision import FP32
from ganfactory.errors import CheckpointError
from ganfactory.export.cli import export_run
from ganfactory.operators.cyclegan.architecture import CycleGANArchitecture
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.cut import CUTTrainable
from ganfactory.operators.cyclegan.hparams import CycleGANTraining
from ganfactory.operators.cyclegan.nce import l2_normalise, patch_nce_loss
from ganfactory.operators.cyclegan.networks import ResnetGenerator, nce_layers
from ganfactory.operators.cyclegan.operator import run_cyclegan

from .conftest import (
    TINY_FLAGS,
    assert_one_line_error,
    assert_onnx_translates_like,
    image_files,
    manifest_lines,
    stop_after_steps,
    tiny_config,
    tree_digest,
)

pytestmark = pytest.mark.usefixtures("single_thread")
MODES = ("cut", "fastcut")
NETS = ("G_AB", "D_B", "F")


def _rows(count: int, dim: int, seed: int) -> torch.Tensor:
    return l2_normalise(torch.randn(count, dim, generator=torch.Generator().manual_seed(seed)))


# --- the loss ---------------------------------------------------------------------------------------------
def test_patch_nce_of_unrelated_features_is_about_log_num_patches():
    # dot products of random unit vectors have variance 1/D, so the logits' spread adds 1 / (2 D T^2) ~ 0.025
    patches, batch = 256, 2
    loss = patch_nce_loss(_rows(batch * patches, 4096, 0), _rows(batch * patches, 4096, 1), batch_size=batch)
    assert loss.shape == (batch * patches,)
    assert float(loss.mean()) == pytest.approx(math.log(patches), abs=0.1)


def test_patch_nce_is_near_zero_when_each_query_is_its_positive_and_negatives_differ():
    keys = _rows(2 * 256, 256, 2)
    assert float(patch_nce_loss(keys.clone(), keys, batch_size=2).mean()) < 0.01
    # the same positive among negatives that equal it: no way to pick it out, the loss is log(P) again
    same = _rows(1, 256, 3).expand(256, 256)
    assert float(patch_nce_loss(same, same, batch_size=1).mean()) == pytest.approx(math.log(256), abs=1e-3)


def test_negatives_come_from_the_same_image_only():
    # two images whose keys are swapped: with negatives from the own image only, the other image's rows never count
    q = _rows(2 * 8, 32, 4)
    k = q.clone()
    k_other = torch.cat([k[:8], _rows(8, 32, 5)])
    assert torch.allclose(patch_nce_loss(q, k, batch_size=2)[:8], patch_nce_loss(q, k_other, batch_size=2)[:8])


def test_the_encoder_layers_follow_the_reference_choice():
    # padding, both stride-2 convolutions, the first and the fifth residual block (reference: 0,4,8,12,16)
    assert nce_layers(2, 9) == [0, 4, 7, 10, 14]
    assert nce_layers(2, 1) == [0, 4, 7, 10]
    G = ResnetGenerator(3, 3, base_channels=4, n_blocks=6)
    feats = G.encode(torch.zeros(1, 3, 16, 16), nce_layers(2, 6))
    assert [f.shape[1] for f in feats] == [G.layer_channels(i) for i in nce_layers(2, 6)] == [3, 8, 16, 16, 16]
    assert [f.shape[2] for f in feats] == [22, 8, 4, 4, 4]


# --- configuration -----------------------------------------------------------------------------------------
def test_modes_take_the_reference_defaults_unless_set():
    cut, fast = CycleGANConfig(mode="cut"), CycleGANConfig(mode="fastcut")
    assert (cut.lambda_nce, cut.nce_idt, cut.flip_equivariance, cut.g_learning_rate) == (1.0, True, False, 2e-4)
    assert (fast.lambda_nce, fast.nce_idt, fast.flip_equivariance, fast.decay_fraction) == (10.0, False, True, 0.75)
    assert CycleGANConfig().g_learning_rate == 1e-4  # the ModelArts default stays for cyclegan
    assert CycleGANConfig(mode="fastcut", lambda_nce=2, g_learning_rate=1e-3).lambda_nce == 2.0
    assert (cut.num_patches, cut.nce_temperature, cut.nce_mlp_units) == (256, 0.07, 256)


# --- training ----------------------------------------------------------------------------------------------
def _trainable(domains, mode: str, **overrides) -> CUTTrainable:
    config = tiny_config(mode=mode, **overrides)
    source, target = (load_image_folder(folder, resolution=config.load_hw(), mode="crop") for folder in domains)
    return CUTTrainable(hparams=CycleGANTraining.from_config(config), source=source, target=target,
                        device=torch.device("cpu"), precision=FP32)


@pytest.mark.parametrize("mode", MODES)
def test_training_steps_lower_the_nce_loss_and_move_every_network(domains, mode):
    # without the input skip G(a) starts far from a, so the NCE loss starts high and has room to fall
    trainable = _trainable(domains, mode, g_learning_rate=2e-3, d_learning_rate=2e-3, max_epoch=100,
                           input_skip=False, flip_equivariance=False)
    before = {name: {k: v.clone() for k, v in net.state_dict().items()} for name, net in trainable.nets.items()}
    nce = [trainable.train_step()["loss/NCE"] for _ in range(40)]
    assert np.mean(nce[-5:]) < 0.75 * np.mean(nce[:3]), nce  # cut measured 6.05, 4.29, 4.21 ... 3.46 at 30 steps
    for name, net in trainable.nets.items():
        assert any(not torch.equal(before[name][k], v) for k, v in net.state_dict().items()), name


def test_the_heads_are_built_before_the_first_step_and_saved_with_their_optimiser(domains):
    trainable = _trainable(domains, "cut")
    state = trainable.state_dict()
    assert len(trainable.F.mlps) == len(trainable.layers) == 4
    assert state["F"].keys() == trainable.F.state_dict().keys() and "opt_F" in state and "G_BA" not in state


@pytest.mark.parametrize("mode", MODES)
def test_resume_after_a_stop_equals_an_uninterrupted_run(domains, tmp_path, monkeypatch, mode):
    # 3 epochs of 2 steps cross the lr decay; the stop comes mid-epoch, between the per-epoch checkpoints
    config = tiny_config(mode=mode, max_epoch=3)
    whole = run_cyclegan(*domains, tmp_path / "whole", config, progress_bar=False)
    stop = stop_after_steps(monkeypatch, CUTTrainable, 3)
    with pytest.raises(TrainingInterrupted):
        run_cyclegan(*domains, tmp_path / "split", config, progress_bar=False, stop=stop)
    monkeypatch.undo()
    assert list_checkpoints(tmp_path / "split" / "model")[0].name == "ckpt-000000003.pt"
    resumed = run_cyclegan(*domains, tmp_path / "split", config, progress_bar=False)
    a, b = (load_checkpoint(result.checkpoint)["operator"] for result in (whole, resumed))
    assert a["steps"] == b["steps"] == 6 and a["mode"] == b["mode"] == mode
    for net in NETS:
        unequal = [key for key in a[net] if not torch.equal(a[net][key], b[net][key])]
        assert a[net].keys() == b[net].keys() and not unequal, f"{net}: {unequal}"
    assert torch.equal(a["sampler"], b["sampler"])
    assert tree_digest(whole.run.data_dir) == tree_digest(resumed.run.data_dir)


@pytest.fixture(scope="module")
def trained_cut(domains, tmp_path_factory):
    return run_cyclegan(*domains, tmp_path_factory.mktemp("cut") / "run", tiny_config(mode="cut"), progress_bar=False)


def test_translates_every_source_image_once_with_its_manifest_line(trained_cut, domains):
    source, target = domains
    lines = manifest_lines(trained_cut.run.root)
    assert trained_cut.images_written == len(image_files(trained_cut.run.data_dir)) == len(lines) == 4
    assert {line["source_file"] for line in lines} == {str(p.resolve()) for p in image_files(source)}
    assert {(line["direction"], line["annotation"][0]["name"]) for line in lines} == {("source_to_target",
                                                                                        target.name)}
    assert list((trained_cut.run.root / "samples").glob("*.png"))


def test_onnx_export_matches_torch(trained_cut):
    path = export_run(trained_cut.run.root)
    G = CycleGANArchitecture.from_config(tiny_config()).generator().eval()
    G.load_state_dict(load_checkpoint(trained_cut.checkpoint)["operator"]["G_AB"])
    assert_onnx_translates_like(path, G)


def test_a_cyclegan_run_is_not_continued_as_cut(domains, tmp_path):
    run = tmp_path / "run"
    run_cyclegan(*domains, run, tiny_config(max_epoch=1), progress_bar=False)
    with pytest.raises(CheckpointError, match="mode None in the checkpoint, 'cut' now"):
        run_cyclegan(*domains, run, tiny_config(max_epoch=1, mode="cut"), progress_bar=False)


# --- the command -------------------------------------------------------------------------------------------
def _cli(*args: object) -> list[str]:
    return [sys.executable, "-m", "ganfactory", *map(str, args)]


CLI_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("mode", MODES)
def test_sigterm_exits_75_and_the_same_command_finishes_as_an_uninterrupted_run(domains, tmp_path, mode):
    # a checkpoint every epoch of 2 steps; the first leaves 11 epochs for the signal to land in
    epochs = 12
    flags = [*TINY_FLAGS, "--mode", mode, "--precision", "fp32", "--keep-checkpoints", "100"]
    flags[flags.index("--max-epoch") + 1] = str(epochs)
    out = tmp_path / "run"
    command = _cli("cyclegan", *domains, out, *flags)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV)
    deadline = time.monotonic() + 120  # a loaded machine starts torch slowly
    while not list_checkpoints(out / "model"):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    message = assert_one_line_error(subprocess.CompletedProcess(command, process.returncode, stdout, stderr), 75)
    assert "run the same command to resume" in message
    stopped = load_checkpoint(list_checkpoints(out / "model")[0])["operator"]["steps"]
    assert 1 <= stopped < 2 * epochs and not (out / "output_0.manifest").exists()

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    assert resumed.returncode == 0, resumed.stderr
    whole = run_cyclegan(*domains, tmp_path / "whole", tiny_config(mode=mode, max_epoch=epochs, keep_checkpoints=100),
                         progress_bar=False)  # one thread, fp32: the subprocess's arithmetic
    a = load_checkpoint(whole.checkpoint)["operator"]
    b = load_checkpoint(list_checkpoints(out / "model")[0])["operator"]
    assert a["steps"] == b["steps"] == 2 * epochs
    for net in NETS:
        assert all(torch.equal(a[net][key], b[net][key]) for key in a[net]), net
    assert tree_digest(whole.run.data_dir) == tree_digest(out / "Data")


def test_predict_from_the_run_folder_and_from_onnx(cli, trained_cut, domains, tmp_path):
    source, target = domains
    run = trained_cut.run.root
    for name, model in (("pt", run), ("onnx", export_run(run))):
        out = tmp_path / name
        result = cli("cyclegan", source, tmp_path / "no-target", out, "--predict", "--resume", model,
                     "--device", "cpu", "--precision", "fp32")
        assert result.returncode == 0, result.stderr
        lines = manifest_lines(out)
        assert len(lines) == 4 and {line["annotation"][0]["name"] for line in lines} == {target.name}
    pixels = [{p.name: np.asarray(Image.open(p), dtype=np.int16) for p in image_files(tmp_path / name / "Data")}
              for name in ("pt", "onnx")]
    assert max(np.abs(pixels[0][n] - pixels[1][n]).max() for n in pixels[0]) <= 2


ERRORS = {  # case: (extra options, what the one line says)
    "both directions": (["--mode", "cut", "--direction", "both"], "CUT is one-sided"),
    "fastcut both directions": (["--mode", "fastcut", "--direction", "both"], "--direction both is not available"),
    "negative nce weight": (["--mode", "cut", "--lambda-nce", "-1"], "lambda_nce"),
    "no patches": (["--mode", "cut", "--num-patches", "0"], "num_patches"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_input_is_one_error_line_and_exit_2(case, in_process, domains, tmp_path):
    options, expected = ERRORS[case]
    result = in_process("cyclegan", *domains, tmp_path / "out", *TINY_FLAGS, *options)
    assert expected in assert_one_line_error(result)


def test_an_unknown_mode_is_refused_by_the_command_line(in_process, domains, tmp_path):
    result = in_process("cyclegan", *domains, tmp_path / "out", *TINY_FLAGS, "--mode", "cutt")
    assert result.returncode == 2 and "'cutt' is not one of 'cyclegan', 'cut', 'fastcut'" in result.stderr
    assert "Traceback" not in result.stderr
