"""Training the interpreter through the engine (loss drops; stop and resume: test_battery.py) and
generating pairs (files, manifest lines, most uncertain dropped, resume without duplicates), and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganfactory.engine.driver import run_operator
from ganfactory.operators.datasetgan import generate as generate_module
from ganfactory.operators.datasetgan.generator import GENERATE_SEED_OFFSET
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.output.manifest import SEGMENTATION, read_manifest

from .conftest import CLASSES, tiny

CLI_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _train(out, **overrides):
    return run_operator(DATASETGAN, (), out, tiny(**overrides), progress_bar=False)


def test_training_lowers_the_loss(annotated):
    result = _train(annotated, epochs=6, steps_per_image=8)
    ticks = [json.loads(line) for line in (annotated / "logs" / "stats.jsonl").read_text().splitlines()]
    losses = [t["loss"] for t in ticks if "loss" in t]
    assert losses[-1] < losses[0] and result.done == 6
    assert result.images_written == 0  # no --num: only the interpreter


def test_early_stop(annotated):
    result = _train(annotated, epochs=50, patience=3, min_epochs=1)
    assert 1 <= result.done < 50


def test_generate_pairs_manifest_and_drop(annotated):
    _train(annotated, num=6, drop_uncertain=0.25)  # 8 candidates, the 2 most uncertain dropped
    lines = read_manifest(annotated / "output_0.manifest")
    candidates = read_manifest(annotated / "Data" / "candidates.manifest")
    assert len(lines) == 6 and len(candidates) == 8
    kept = {line["id"] for line in lines}
    dropped = [c for c in candidates if c["id"] not in kept]
    assert min(c["uncertainty"] for c in dropped) >= max(line["uncertainty"] for line in lines)
    for line in lines:
        (annotation,) = line["annotation"]
        assert annotation["type"] == SEGMENTATION and annotation["class_names"] == CLASSES
        mask = np.asarray(Image.open(annotation["annotation-loc"]))
        assert mask.shape == (16, 16) and mask.max() < len(CLASSES)
        assert Image.open(line["source"]).size == (16, 16) and line["synthetic"] is True
        assert line["operator"] == "datasetgan" and len(line["checkpoint_sha256"]) == 64
        assert len(line["generator_checkpoint_sha256"]) == 64 and 0 <= line["uncertainty"] <= np.log(3)
    assert len(list((annotated / "Data" / "images").glob("*.png"))) == 6
    assert len(list((annotated / "Data" / "dropped" / "masks").glob("*.png"))) == 2


def test_generate_resumes_without_duplicates(annotated, monkeypatch):
    _train(annotated)
    original, calls = generate_module._write_pair, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # a kill mid-generation
        return original(*args, **kwargs)

    monkeypatch.setattr(generate_module, "_write_pair", failing)
    config = tiny(num=5, drop_uncertain=0.0, batch=2, resume=str(annotated), predict=True)
    with pytest.raises(KeyboardInterrupt):
        run_operator(DATASETGAN, (), annotated, config, sampler_only=True)
    assert len(read_manifest(annotated / "Data" / "candidates.manifest")) == 3
    monkeypatch.setattr(generate_module, "_write_pair", original)
    result = run_operator(DATASETGAN, (), annotated, config, sampler_only=True)
    assert result.images_written == 2
    lines = read_manifest(annotated / "output_0.manifest")
    assert len(lines) == len({line["id"] for line in lines}) == 5
    again = run_operator(DATASETGAN, (), annotated, config, sampler_only=True)
    assert again.images_written == 0 and len(read_manifest(annotated / "output_0.manifest")) == 5


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ganfactory", "datasetgan", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=CLI_ENV)


def test_cli_sample_and_one_line_errors(stylegan_run, tmp_path):
    out = tmp_path / "cli"
    done = _cli("sample", stylegan_run, out, "--num", "2", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / "annotation" / "images").iterdir()) == ["0000.png", "0001.png"]
    failed = _cli("train", out, "--device", "cpu")  # no masks yet
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "0000.png has no mask" in errors[0]


def test_two_shards_select_the_pairs_of_one_unsharded_run(annotated, tmp_path):
    _train(annotated)
    whole = tmp_path / "whole"
    import shutil

    shutil.copytree(annotated, whole)
    common = dict(num=6, drop_uncertain=0.25, batch=2, predict=True)  # 8 candidates, 6 kept
    first_seed = tiny(**common).seed + GENERATE_SEED_OFFSET  # candidate i has this seed + i
    run_operator(DATASETGAN, (), whole, tiny(**common, resume=str(whole)), sampler_only=True)
    first = run_operator(DATASETGAN, (), annotated, tiny(**common, resume=str(annotated), shard="1/2"),
                         sampler_only=True)
    assert first.images_written == 4 and not (annotated / "output_0.manifest").exists()  # waits for shard 2
    second = run_operator(DATASETGAN, (), annotated, tiny(**common, resume=str(annotated), shard="2/2"),
                          sampler_only=True)
    # the shard that completes the set selects: it reports the listed pairs it labelled (as an unsharded run does)
    mine = [line for line in read_manifest(annotated / "output_0.manifest") if (line["seed"] - first_seed) % 2 == 1]
    assert second.images_written == len(mine) > 0

    def picked(out):
        return [(line["id"], line["seed"]) for line in read_manifest(out / "output_0.manifest")]

    assert picked(annotated) == picked(whole) and len(picked(whole)) == 6
    assert sorted(c["seed"] for c in read_manifest(annotated / "Data" / "candidates.manifest")) == sorted(
        c["seed"] for c in read_manifest(whole / "Data" / "candidates.manifest"))
    assert len(list((annotated / "Data" / "dropped" / "masks").glob("*.png"))) == 2
    again = run_operator(DATASETGAN, (), annotated, tiny(**common, resume=str(annotated), shard="2/2"),
                         sampler_only=True)
    assert again.images_written == 0 and picked(annotated) == picked(whole)  # a rerun fills only gaps: none
