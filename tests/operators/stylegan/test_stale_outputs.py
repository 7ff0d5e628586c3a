"""Issue 13, fault 4: what decides a generated image (model, seed, truncation, class) decides whether it is
already there; changed parameters regenerate it (file and manifest line replaced), and the manifest never
cites a checkpoint that the keep-N rule deleted."""

from __future__ import annotations

import shutil

import numpy as np
import torch

from ganfactory.engine.precision import Precision
from ganfactory.engine.signals import StopRequest
from ganfactory.operators.stylegan.generate import GenerationPlan, generate_dataset
from ganfactory.operators.stylegan.operator import run_stylegan
from ganfactory.operators.stylegan.training import StyleGANTrainable
from ganfactory.output.layout import RunFolder

from .conftest import TINY, image_files, manifest_lines, one_thread, pixels, tiny_config, train


def test_generate_with_another_truncation_replaces_the_images_and_lines(trained, tmp_path, cli):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    before = {p.name: pixels(p) for p in image_files(run / "Data")}
    result = cli("generate", run, run, "--truncation", "0.5", "--generate-num", "5", "--device", "cpu",
                 "--precision", "fp32")
    assert result.returncode == 0, result.stderr
    assert f"Wrote {2 * TINY['generate_num']} images" in result.stdout
    lines = manifest_lines(run)
    assert len(lines) == 2 * TINY["generate_num"] and {line["truncation"] for line in lines} == {0.5}
    after = {p.name: pixels(p) for p in image_files(run / "Data")}
    assert after.keys() == before.keys() and any(not np.array_equal(after[k], before[k]) for k in after)
    again = cli("generate", run, run, "--truncation", "0.5", "--generate-num", "5", "--device", "cpu",
                "--precision", "fp32")
    assert again.returncode == 0 and "Wrote 0 images" in again.stdout  # the same parameters: nothing to redo
    assert {line["precision"] for line in manifest_lines(run)} == {"fp32"}


class _FlatSampler:
    """A generator stand-in: black 8x8 images, computed in `precision` (only recorded)."""

    def __init__(self, precision: str) -> None:
        self.precision = Precision(precision)

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor:
        return torch.zeros(len(seeds), 1, 8, 8)


def test_the_precision_and_the_model_decide_whether_an_image_is_there(tmp_path):
    run = RunFolder(tmp_path / "run").create()
    plan = GenerationPlan(class_names=["x"], conditional=False, count=3, seed=0, truncation=1.0)
    model = {"checkpoint_sha256": "a" * 64, "checkpoint": "ckpt-1.pt"}
    assert generate_dataset(_FlatSampler("fp32"), run=run, plan=plan, provenance=model) == 3
    assert generate_dataset(_FlatSampler("fp32"), run=run, plan=plan, provenance=model) == 0
    assert generate_dataset(_FlatSampler("bf16"), run=run, plan=plan, provenance=model) == 3  # bf16 pixels differ
    other = {"checkpoint_sha256": "b" * 64, "checkpoint": "ckpt-2.pt"}
    assert generate_dataset(_FlatSampler("bf16"), run=run, plan=plan, provenance=other) == 3
    lines = manifest_lines(run.root)
    assert len(lines) == 3 and {(line["precision"], line["checkpoint"]) for line in lines} == {("bf16", "ckpt-2.pt")}


def test_the_manifest_never_cites_a_deleted_checkpoint(two_classes, tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = train(two_classes, out, keep_checkpoints=1)
    cited = {line["checkpoint"] for line in manifest_lines(out)}
    assert cited == {first.checkpoint.name}
    # train on (total 0.2 kimg) and stop before generating: the old checkpoint is still cited, so it stays
    stop, train_step = StopRequest(), StyleGANTrainable.train_step

    def step_then_stop(self: StyleGANTrainable) -> dict[str, float]:
        values = train_step(self)
        if self.steps == 40:
            stop.set("test")
        return values

    monkeypatch.setattr(StyleGANTrainable, "train_step", step_then_stop)
    with one_thread():
        try:
            run_stylegan(two_classes, out, tiny_config(keep_checkpoints=1, total_kimg=0.2), progress_bar=False,
                         stop=stop)
        except Exception as exc:  # TrainingInterrupted
            assert "resume" in str(exc)
    assert (out / "model" / first.checkpoint.name).is_file()
    monkeypatch.undo()
    final = train(two_classes, out, keep_checkpoints=1, total_kimg=0.2)
    lines = manifest_lines(out)
    assert {line["checkpoint"] for line in lines} == {final.checkpoint.name} and final.checkpoint.is_file()
    assert final.images_written == len(lines) == 2 * TINY["generate_num"]  # made again by the newer model
    assert not (out / "model" / first.checkpoint.name).exists()  # no longer cited: pruned
