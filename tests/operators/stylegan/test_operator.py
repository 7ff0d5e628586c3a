"""The StyleGAN2-ADA operator in-process on tiny real runs: weights move, generation writes what it promises, predict,
resume on a fresh folder, transfer, grayscale. Stop and resume equal to an uninterrupted run: test_battery.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.checkpoint import file_sha256
from ganfactory.engine.loop import EXIT_INTERRUPTED, TrainingInterrupted
from ganfactory.engine.signals import StopRequest
from ganfactory.operators.stylegan.operator import run_stylegan
from ganfactory.operators.stylegan.training import StyleGANTrainable

from .conftest import (
    CLASSES,
    TINY,
    image_files,
    latest_ckpt,
    load_ckpt,
    manifest_lines,
    one_thread,
    pixels,
    tiny_config,
    train,
    tree_digest,
    write_images,
)

NETWORKS = ("G", "D", "G_ema")
STEPS = 25  # TINY: 0.1 kimg at batch 4


def _stop_after(monkeypatch, steps: int) -> StopRequest:
    """A StopRequest set from inside the training step once `steps` steps are done (as SIGTERM would)."""
    stop, original = StopRequest(), StyleGANTrainable.train_step
    if steps == 0:
        stop.set("test")

    def train_step(self):
        values = original(self)
        if self.steps == steps:
            stop.set("test")
        return values
    monkeypatch.setattr(StyleGANTrainable, "train_step", train_step)
    return stop


def _interrupted(data: Path, out: Path, monkeypatch, *, steps: int, **overrides) -> TrainingInterrupted:
    stop = _stop_after(monkeypatch, steps)
    with one_thread(), pytest.raises(TrainingInterrupted) as info:
        run_stylegan(data, out, tiny_config(**overrides), progress_bar=False, stop=stop)
    monkeypatch.undo()
    return info.value


def test_real_steps_move_every_network_and_keep_losses_finite(trained, two_classes, tmp_path, monkeypatch):
    # A run stopped before its first step saves the initial state: the same seed gives the same init.
    error = _interrupted(two_classes, tmp_path / "init", monkeypatch, steps=0)
    assert error.exit_code == EXIT_INTERRUPTED
    initial = load_ckpt(latest_ckpt(tmp_path / "init"))["operator"]
    final = load_ckpt(latest_ckpt(trained))["operator"]
    assert initial["steps"] == 0 and final["steps"] == STEPS
    for name in NETWORKS:
        # Everything but the constant-noise buffers, which training never touches.
        params = [key for key, value in initial[name].items() if value.is_floating_point() and "noise_const" not in key]
        changed = [key for key in params if not torch.equal(initial[name][key], final[name][key])]
        assert params and changed == params, (name, sorted(set(params) - set(changed)))
    stats = [json.loads(line) for line in (trained / "logs" / "stats.jsonl").read_text().splitlines()]
    assert [line["steps"] for line in stats] == [10, 20, 25]
    for line in stats:
        assert {"loss/G", "loss/D", "D/real", "D/fake", "augment/p"} <= line.keys()
        assert all(math.isfinite(value) for value in line.values())
    assert any("loss/D_r1" in line for line in stats)
    # the wall clock of each tick (the console's time axes), in order
    assert all(isinstance(line["time"], float) for line in stats)
    assert [line["time"] for line in stats] == sorted(line["time"] for line in stats)
    # the progress grids have one row per class: config.json names them for the console's labels
    assert json.loads((trained / "config.json").read_text())["resolved"]["grid_rows"] == list(CLASSES)


def _count_steps(monkeypatch) -> list[int]:
    calls, original = [], StyleGANTrainable.train_step

    def train_step(self):
        calls.append(self.steps)
        return original(self)
    monkeypatch.setattr(StyleGANTrainable, "train_step", train_step)
    return calls


# --- generation --------------------------------------------------------------------------------------------


def test_conditional_generation_writes_files_and_manifest(trained):
    checkpoint = latest_ckpt(trained)
    lines = manifest_lines(trained)
    count = TINY["generate_num"]
    assert len(lines) == 2 * count and len({line["id"] for line in lines}) == len(lines)
    for class_index, name in enumerate(CLASSES):
        files = image_files(trained / "Data" / name)
        assert [f.name for f in files] == [f"seed{i:08d}.png" for i in range(count)]
        mine = [line for line in lines if line["annotation"][0]["name"] == name]
        assert len(mine) == count
        assert sorted(Path(line["source"]) for line in mine) == [f.resolve() for f in files]
        assert sorted(line["seed"] for line in mine) == list(range(count))
        for line in mine:
            assert line["annotation"] == [{"name": name, "type": "modelarts/image_classification"}]
            assert line["class_index"] == class_index and line["truncation"] == 1.0
            assert line["operator"] == "stylegan" and line["usage"] == "train" and line["synthetic"] is True
            assert line["checkpoint_sha256"] == file_sha256(checkpoint) and line["checkpoint"] == checkpoint.name
    with Image.open(image_files(trained / "Data")[0]) as image:
        assert image.size == (16, 16) and image.mode == "RGB"
    # One seed, one style: the class is a separate input, so the same seed differs between classes.
    assert not np.array_equal(pixels(trained / "Data" / "cats" / "seed00000000.png"),
                              pixels(trained / "Data" / "dogs" / "seed00000000.png"))


def test_running_the_same_command_again_adds_nothing(trained, two_classes, monkeypatch):
    before = {folder: tree_digest(trained / folder) for folder in ("Data", "model", "samples")}
    lines = (trained / "output_0.manifest").read_bytes()
    calls = _count_steps(monkeypatch)
    result = train(two_classes, trained)
    assert calls == [] and result.images_written == 0
    assert {folder: tree_digest(trained / folder) for folder in before} == before
    assert (trained / "output_0.manifest").read_bytes() == lines


def test_predict_generates_the_same_images_without_training(trained, tmp_path, monkeypatch):
    calls = _count_steps(monkeypatch)
    out = tmp_path / "predicted"
    result = train(None, out, predict=True, resume=str(trained))  # DATA is not read
    assert calls == [] and result.images_written == 10
    assert not list((out / "model").iterdir()) and not (out / "logs" / "stats.jsonl").exists()
    assert tree_digest(out / "Data") == tree_digest(trained / "Data")  # deterministic: byte for byte
    assert len(manifest_lines(out)) == 10
    assert {line["checkpoint_sha256"] for line in manifest_lines(out)} == {file_sha256(latest_ckpt(trained))}


def test_image_i_does_not_depend_on_batching_or_count(trained, tmp_path):
    """seed = --seed + i: a run with --seed 2 and 3 images gives the images 2..4 of the run with --seed 0."""
    out = tmp_path / "shifted"
    train(None, out, predict=True, resume=str(trained), seed=2, generate_num=3)
    for name in CLASSES:
        files = image_files(out / "Data" / name)
        assert [f.name for f in files] == [f"seed{i:08d}.png" for i in (2, 3, 4)]
        for file in files:
            # The same seed gives the same bytes: every batch is padded to one shape, so 3 images and 5 go
            # through the same CPU kernels (two shapes could round float sums differently).
            assert np.array_equal(pixels(file), pixels(trained / "Data" / name / file.name))


def test_predict_from_an_earlier_checkpoint_file(trained, tmp_path):
    checkpoint = trained / "model" / "ckpt-000000010.pt"
    out = tmp_path / "earlier"
    train(None, out, predict=True, resume=str(checkpoint), generate_num=2, truncation=0.5)
    lines = manifest_lines(out)
    assert len(lines) == 4 and len(image_files(out / "Data")) == 4
    assert {(line["checkpoint"], line["checkpoint_sha256"], line["truncation"]) for line in lines} == {
        (checkpoint.name, file_sha256(checkpoint), 0.5)}
    assert not np.array_equal(pixels(out / "Data" / "cats" / "seed00000000.png"),
                              pixels(trained / "Data" / "cats" / "seed00000000.png"))


# --- resume on a fresh folder, transfer learning ------------------------------------------------------------


def test_resume_on_a_fresh_folder_with_the_same_data_continues_the_counters(trained, two_classes, tmp_path,
                                                                          monkeypatch):
    calls = _count_steps(monkeypatch)
    out = tmp_path / "continued"
    result = train(two_classes, out, resume=str(trained), total_kimg=0.12, generate_num=1)
    assert calls == list(range(STEPS, 30))
    state = load_ckpt(result.checkpoint)
    assert result.checkpoint.name == "ckpt-000000030.pt"
    assert (state["operator"]["images_seen"], state["operator"]["steps"]) == (120, 30)
    assert state["engine"]["tick"] == 4  # the source's three ticks go on
    assert result.kimg == pytest.approx(0.12)


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory) -> Path:
    """Other data (other images, a third class): a --resume from the two-class run is transfer learning."""
    root = tmp_path_factory.mktemp("three") / "zoo"
    for index, name in enumerate(("cats", "dogs", "cats")):
        write_images(root / f"{name}{index}", name, 10, first_seed=50 + 10 * index)
    return root


def test_resume_with_other_data_is_transfer_learning(trained, three_classes, tmp_path, monkeypatch):
    calls = _count_steps(monkeypatch)
    # Another seed: a fresh init would differ everywhere, so whatever equals the source was loaded.
    result = train(three_classes, tmp_path / "transfer", resume=str(trained), total_kimg=0.008, seed=1,
                   generate_num=1)
    assert calls == [0, 1]  # counters start from zero
    state = load_ckpt(result.checkpoint)["operator"]
    source = load_ckpt(latest_ckpt(trained))["operator"]
    assert (state["images_seen"], state["steps"], state["num_classes"]) == (8, 2, 3)
    for name in NETWORKS:
        new, old = state[name], source[name]
        misfit = sorted(key for key in new if key not in old or new[key].shape != old[key].shape)
        assert misfit and len(misfit) <= 2 and all("embed" in key for key in misfit), (name, misfit)
        for key in new:
            if key in misfit or not new[key].is_floating_point() or key.endswith("w_avg"):
                continue  # (w_avg is a running mean of W over the new data's labels, not a weight)
            if "noise_const" in key:  # buffers that training never changes: loaded exactly
                assert torch.equal(new[key], old[key]), (name, key)
            else:  # two Adam steps of lr 0.0025 from the loaded values
                assert (new[key] - old[key]).abs().max() < 0.02, (name, key)


# --- grayscale, single level ---------------------------------------------------------------------------------


def test_grayscale_single_level_trains_one_channel_and_writes_into_data(gray_single, tmp_path):
    out = tmp_path / "gray"
    result = train(gray_single, out, resolution=8, total_kimg=0.008, generate_num=3)
    state = load_ckpt(result.checkpoint)["operator"]
    assert state["img_channels"] == 1 and state["num_classes"] == 0
    files = image_files(out / "Data")
    assert [f.relative_to(out / "Data").as_posix() for f in files] == [f"seed{i:08d}.png" for i in range(3)]
    for file in files:
        with Image.open(file) as image:
            assert image.mode == "L" and image.size == (8, 8)
    lines = manifest_lines(out)
    assert len(lines) == 3
    assert {(line["annotation"][0]["name"], line["class_index"]) for line in lines} == {(gray_single.name, None)}
    resolved = json.loads((out / "config.json").read_text())["resolved"]
    assert resolved["classes"] == [gray_single.name] and resolved["grid_rows"] == []  # an 8 x 8 grid of seeds
