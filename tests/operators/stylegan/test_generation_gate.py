"""The memorisation gate at generation (--max-similarity, --nearest) and class balancing (--balance,
--per-class-target): a generator that hands back copies of training images sees them dropped and counted, a
resumed or extended generation neither duplicates nor loses an image, and the per-class counts follow the rule."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.precision import FP32
from ganfactory.errors import ConfigError
from ganfactory.metrics.gate import MemorisationGate
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.operators.stylegan.balance import class_counts
from ganfactory.operators.stylegan.config import StyleGANSampleOptions
from ganfactory.operators.stylegan.generate import GenerationPlan, generate_dataset
from ganfactory.output.layout import RunFolder

from .conftest import (
    CLI_ENV,
    TINY_FLAGS,
    assert_one_line_error,
    cli_args,
    image_files,
    manifest_lines,
    tree_digest,
    write_images,
)

SIZE = 16


@pytest.fixture
def features(pooled_features) -> Path:
    return pooled_features


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GANFACTORY_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def training(tmp_path_factory) -> Path:
    """16 px training images of one class, so a generated copy is pixel-identical to its original."""
    folder = tmp_path_factory.mktemp("training") / "cats"
    write_images(folder, "cats", 6)
    for path in folder.iterdir():  # 20 px -> 16 px, the generator's resolution
        with Image.open(path) as image:
            image.resize((SIZE, SIZE), Image.Resampling.NEAREST).save(path)
    return folder


class CopyingSampler:
    """Even seeds: a training image, exactly; odd seeds: smooth random colour fields, far from any training image."""

    precision = FP32

    def __init__(self, training: Path) -> None:
        self.copies = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(training.iterdir())]
        self.calls: list[int] = []  # the seeds asked for, without the padding that fills a batch to its shape
        self.shapes: set[int] = set()

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor:
        self.calls += list(dict.fromkeys(seeds))  # generate.py pads a batch by repeating its last seed
        self.shapes.add(len(seeds))
        out = []
        for seed in seeds:
            if seed % 2 == 0:
                pixels = self.copies[seed // 2 % len(self.copies)]
            else:
                rng = np.random.default_rng(seed)
                y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
                pixels = np.stack([np.cos(rng.uniform(1, 6) * x + rng.uniform(0, 6) * y) for _ in range(3)], -1)
                pixels = ((pixels + 1) * 127.5).astype(np.uint8)
            out.append(torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 127.5 - 1.0)
        return torch.stack(out)


def _generate(out: Path, training: Path, features: Path, *, count: int, max_similarity: float | None,
              batch_size: int = 4) -> tuple[int, MemorisationGate, CopyingSampler]:
    gate = MemorisationGate.build(network=load_feature_network(features), root=training,
                                  classes={"cats": sorted(training.iterdir())}, max_similarity=max_similarity)
    sampler = CopyingSampler(training)
    plan = GenerationPlan(class_names=["cats"], conditional=False, count=count, seed=0, truncation=1.0,
                          batch_size=batch_size)
    written = generate_dataset(sampler, run=RunFolder(out).create(), plan=plan,
                               provenance={"checkpoint_sha256": "x" * 64}, gate=gate)
    return written, gate, sampler


def test_copies_of_training_images_are_dropped_counted_and_replaced(training, features, tmp_path):
    out = tmp_path / "run"
    written, gate, sampler = _generate(out, training, features, count=5, max_similarity=0.999)
    lines = manifest_lines(out)
    assert written == 5 and len(lines) == 5 and len(image_files(out / "Data")) == 5
    assert sorted(line["seed"] for line in lines) == [1, 3, 5, 7, 9]  # every even seed was a copy
    assert gate.dropped == 5 and sampler.calls == list(range(10))  # dropped, counted, never generated twice
    assert sampler.shapes == {4}  # every batch padded to the plan's batch size: one kernel shape
    for line in lines:
        nearest = line["nearest"]
        assert nearest["cosine"] < 0.999 and Path(nearest["source"]).parent == training
        assert Path(nearest["pixel_source"]).parent == training and nearest["pixel_rmse"] > 0.05
    summary = json.loads((out / "logs" / "generation.json").read_text())
    assert summary["dropped"] == 5 and summary["checked"] == 10 and summary["max_similarity"] == 0.999
    assert summary["network"]["name"] == "pooled.pt" and summary["per_class"]["cats"]["present"] == 5

    before = tree_digest(out / "Data")
    again, gate2, sampler2 = _generate(out, training, features, count=5, max_similarity=0.999)
    assert again == 0 and tree_digest(out / "Data") == before  # a finished generation is left as it is


def test_an_extended_generation_equals_one_made_at_once(training, features, tmp_path):
    """Resuming (here: asking for more) redraws only the dropped seeds below the frontier: no duplicate, no loss."""
    step = tmp_path / "step"
    _generate(step, training, features, count=2, max_similarity=0.999)
    written, _, _ = _generate(step, training, features, count=4, max_similarity=0.999, batch_size=3)
    whole = tmp_path / "whole"
    _generate(whole, training, features, count=4, max_similarity=0.999)
    assert written == 2
    assert tree_digest(step / "Data") == tree_digest(whole / "Data")
    assert sorted(line["seed"] for line in manifest_lines(step)) == [1, 3, 5, 7]


def test_a_gate_added_later_removes_the_copies_an_ungated_run_wrote(training, features, tmp_path):
    out = tmp_path / "run"
    plan = GenerationPlan(class_names=["cats"], conditional=False, count=3, seed=0, truncation=1.0)
    generate_dataset(CopyingSampler(training), run=RunFolder(out).create(), plan=plan,
                     provenance={"checkpoint_sha256": "x" * 64})
    assert sorted(line["seed"] for line in manifest_lines(out)) == [0, 1, 2]
    _generate(out, training, features, count=3, max_similarity=0.999)
    assert sorted(line["seed"] for line in manifest_lines(out)) == [1, 3, 5]
    assert sorted(p.name for p in image_files(out / "Data")) == ["seed00000001.png", "seed00000003.png",
                                                                 "seed00000005.png"]


def test_nearest_only_records_and_drops_nothing(training, features, tmp_path):
    out = tmp_path / "run"
    written, gate, _ = _generate(out, training, features, count=4, max_similarity=None)
    lines = manifest_lines(out)
    assert written == 4 and gate.dropped == 0
    copies = [line for line in lines if line["seed"] % 2 == 0]
    assert copies and all(line["nearest"]["cosine"] > 0.9999 and line["nearest"]["pixel_rmse"] < 1e-6
                          for line in copies)


def test_the_cap_stops_a_generator_that_only_copies(training, features, tmp_path, caplog):
    class OnlyCopies(CopyingSampler):
        def __call__(self, *, seeds, class_index, truncation):
            return super().__call__(seeds=[2 * s for s in seeds], class_index=class_index, truncation=truncation)

    gate = MemorisationGate.build(network=load_feature_network(features), root=training,
                                  classes={"cats": sorted(training.iterdir())}, max_similarity=0.999)
    plan = GenerationPlan(class_names=["cats"], conditional=False, count=2, seed=0, truncation=1.0)
    with caplog.at_level("WARNING"):
        written = generate_dataset(OnlyCopies(training), run=RunFolder(tmp_path / "run").create(), plan=plan,
                                   provenance={}, gate=gate)
    assert written == 0 and gate.dropped == 2 * 4 + 32
    assert any("only 0 of 2 images passed --max-similarity" in r.getMessage() for r in caplog.records)


def test_class_counts_balance_and_target():
    real = {"big": 10, "small": 4, "tiny": 1}
    balance = StyleGANSampleOptions(balance=True, generate_num=2)
    assert class_counts(balance, list(real), real) == {"big": 2, "small": 8, "tiny": 11}  # each ends with 12
    target = StyleGANSampleOptions(per_class_target=10)
    assert class_counts(target, list(real), real) == {"big": 0, "small": 6, "tiny": 9}
    assert class_counts(StyleGANSampleOptions(), list(real), real) == {}
    with pytest.raises(ConfigError, match="--per-class-target 9 is below the 10 real images of class 'big'"):
        class_counts(StyleGANSampleOptions(per_class_target=9), list(real), real)
    with pytest.raises(ValueError, match="--balance and --per-class-target exclude each other"):
        StyleGANSampleOptions(balance=True, per_class_target=12)


def test_generate_balances_classes_and_gates_from_the_cli(trained, features, cli, tmp_path):
    """`generate MODEL OUT --balance` against an uneven copy of the training data, with the gate recording."""
    data = tmp_path / "uneven"
    write_images(data / "cats", "cats", 5)
    write_images(data / "dogs", "dogs", 2)
    out = tmp_path / "out"
    result = subprocess.run(cli_args("generate", trained, out, "--balance", "--generate-num", "1", "--training-data",
                                     data, "--nearest", "--features", features, "--device", "cpu", "--precision",
                                     "fp32"),
                            capture_output=True, text=True, timeout=120,
                            env={**CLI_ENV, "GANFACTORY_HOME": str(tmp_path / "home")})  # a private feature cache
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "home" / "cache" / "features").is_dir()
    counts = {folder.name: len(image_files(folder)) for folder in (out / "Data").iterdir()}
    assert counts == {"cats": 1, "dogs": 4}  # both end with 5 + 1 = 6 real + generated
    lines = manifest_lines(out)
    assert len(lines) == 5 and all(Path(line["nearest"]["source"]).parent.parent == data for line in lines)
    summary = json.loads((out / "logs" / "generation.json").read_text())
    assert summary["per_class"]["dogs"]["target"] == 4 and summary["dropped"] == 0

    both = cli("generate", trained, tmp_path / "o3", "--per-class-target", "9", "--balance")
    assert "--balance and --per-class-target exclude each other" in assert_one_line_error(both)
    inside = cli("generate", trained, tmp_path / "o4", "--nearest", "--training-data", tmp_path / "o4" / "Data")
    assert "choose an output location apart from every input" in assert_one_line_error(inside)


def test_training_refuses_a_too_small_target_before_training(two_classes, cli, tmp_path):
    out = tmp_path / "run"
    result = cli("stylegan", two_classes, out, *TINY_FLAGS, "--per-class-target", "5")
    assert "--per-class-target 5 is below the 12 real images of class 'cats'; use at least 12" in \
        assert_one_line_error(result)
    assert not list((out / "model").glob("*.pt"))
