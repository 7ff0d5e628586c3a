"""Class-confidence filtering of generated images (issue 22 item 5, as GaFi): a classifier trained on the real
training images keeps a generated image only when it gives the intended class at least --min-class-confidence;
a dropped seed is replaced by the next one, counted, and recorded; `utility` reports the figure filtered and not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.precision import FP32
from ganfactory.metrics.confidence import ClassConfidenceFilter
from ganfactory.metrics.utility import FILTERED, run_utility, utility_lines
from ganfactory.operators.stylegan.generate import GenerationPlan, generate_dataset
from ganfactory.output.layout import RunFolder

from .conftest import TINY_FLAGS, assert_one_line_error, image_files, manifest_lines, tree_digest
from .test_class_conditioning import _cross, _square

CLASSES = ["squares", "crosses"]
DRAW = {"squares": _square, "crosses": _cross}


def _real(per_class: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    images = np.stack([_square(i) for i in range(per_class)] + [_cross(i) for i in range(per_class)])[:, None]
    return torch.from_numpy(images), torch.arange(2).repeat_interleave(per_class)


class OffClassSampler:
    """Seeds divisible by 3 draw the other class's look (off-class samples); the rest draw their own class."""

    precision = FP32

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor:
        self.calls += [(int(class_index), seed) for seed in dict.fromkeys(seeds)]  # without the batch's padding
        looks = [CLASSES[1 - class_index] if seed % 3 == 0 else CLASSES[class_index] for seed in seeds]
        pixels = np.stack([DRAW[look](500 + seed) for look, seed in zip(looks, seeds)])[:, None]
        return torch.from_numpy(pixels).float() / 127.5 - 1


def _generate(out: Path, confidence: ClassConfidenceFilter | None, count: int = 4) -> tuple[int, OffClassSampler]:
    sampler = OffClassSampler()
    plan = GenerationPlan(class_names=CLASSES, conditional=True, count=count, seed=0, truncation=1.0, batch_size=3)
    written = generate_dataset(sampler, run=RunFolder(out).create(), plan=plan,
                               provenance={"checkpoint_sha256": "x" * 64}, confidence=confidence)
    return written, sampler


@pytest.fixture(scope="module")
def confidence() -> ClassConfidenceFilter:
    images, labels = _real()
    return ClassConfidenceFilter.train(images, labels, class_names=CLASSES, min_confidence=0.9)


def test_off_class_images_are_dropped_replaced_counted_and_recorded(confidence, tmp_path):
    unfiltered, _ = _generate(tmp_path / "plain", None)
    assert sorted(line["seed"] for line in manifest_lines(tmp_path / "plain"))[:2] == [0, 0]  # seed 0: off-class
    out = tmp_path / "run"
    before = confidence.dropped
    written, sampler = _generate(out, confidence)
    lines = manifest_lines(out)
    assert unfiltered == written == 8 and len(image_files(out / "Data")) == 8
    assert all(line["seed"] % 3 != 0 for line in lines)  # every off-class seed was dropped...
    assert sorted(line["seed"] for line in lines if line["annotation"][0]["name"] == "squares") == [1, 2, 4, 5]
    assert len(sampler.calls) == 2 * 6  # ...and the next seeds drawn in their place, each once
    for line in lines:
        record = line["class_confidence"]
        assert record["probability"] >= 0.9 and record["predicted"] == line["annotation"][0]["name"]
        assert line["confidence_filter"]["min_class_confidence"] == 0.9
    summary = json.loads((out / "logs" / "generation.json").read_text())
    assert summary["class_confidence"] == {"min_class_confidence": 0.9, "checked": 12, "dropped": 4}
    assert confidence.dropped - before == 4 and summary["per_class"]["crosses"]["unconfident"] == 2

    digest = tree_digest(out / "Data")
    again, sampler = _generate(out, confidence)
    assert again == 0 and tree_digest(out / "Data") == digest  # resumed: nothing rewritten,
    assert sorted(sampler.calls) == [(0, 0), (0, 3), (1, 0), (1, 3)]  # only the dropped seeds are drawn again


def test_the_cap_stops_a_generator_that_never_draws_its_class(confidence, tmp_path, caplog):
    class AlwaysOff(OffClassSampler):
        def __call__(self, *, seeds, class_index, truncation):
            return super().__call__(seeds=[3 * s for s in seeds], class_index=class_index, truncation=truncation)

    plan = GenerationPlan(class_names=CLASSES, conditional=True, count=2, seed=0, truncation=1.0)
    with caplog.at_level("WARNING"):
        written = generate_dataset(AlwaysOff(), run=RunFolder(tmp_path / "run").create(), plan=plan, provenance={},
                                   confidence=confidence)
    assert written == 0
    assert any("only 0 of 2 images passed --min-class-confidence 0.9 after 40 seeds" in r.getMessage()
               for r in caplog.records)


def test_generate_filters_by_class_confidence_from_the_cli(trained, two_classes, cli, tmp_path):
    out = tmp_path / "out"
    result = cli("generate", trained, out, "--generate-num", "3", "--min-class-confidence", "0.5", "--training-data",
                 two_classes, "--device", "cpu", "--precision", "fp32")
    assert result.returncode == 0, result.stderr
    lines = manifest_lines(out)
    assert lines and all(line["class_confidence"]["probability"] >= 0.5 for line in lines)
    summary = json.loads((out / "logs" / "generation.json").read_text())
    assert summary["class_confidence"]["checked"] >= len(lines)


def test_a_single_class_run_refuses_the_filter_before_training(gray_single, cli, tmp_path):
    out = tmp_path / "run"
    result = cli("stylegan", gray_single, out, *TINY_FLAGS, "--min-class-confidence", "0.9")
    assert "--min-class-confidence needs two or more class folders" in assert_one_line_error(result)
    assert not list((out / "model").glob("*.pt"))


def _folder(root: Path, looks: dict[str, list[str]], first_seed: int) -> Path:
    for name, kinds in looks.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, kind in enumerate(kinds):
            Image.fromarray(DRAW[kind](first_seed + i)).save(root / name / f"{i:03d}.png")
    return root


def test_utility_reports_the_accuracy_with_and_without_the_filter(tmp_path):
    real = _folder(tmp_path / "real", {name: [name] * 12 for name in CLASSES}, first_seed=0)
    # Generated: 8 true images a class and 4 of the other class's look filed under it (off-class samples).
    generated = _folder(tmp_path / "generated", {"squares": ["squares"] * 8 + ["crosses"] * 4,
                                                 "crosses": ["crosses"] * 8 + ["squares"] * 4}, first_seed=300)
    result = run_utility(real, None, generated, test_fraction=0.25, seeds=1, epochs=8, min_class_confidence=0.9)
    conditions = result["conditions"]
    assert {"real", "generated", "real+generated", *FILTERED} <= conditions.keys()
    assert conditions["generated"]["n_train"] == 24 and conditions[FILTERED[0]]["n_train"] == 16
    assert conditions[FILTERED[1]]["n_train"] == 18 + 16
    assert result["confidence_filter"]["per_class_kept"] == {"squares": [8, 12], "crosses": [8, 12]}
    lines = utility_lines(result)
    assert any(line.startswith("real+generated, filtered") for line in lines)
    assert lines[-1].startswith("filtered: 16 of 24 generated images kept")
