"""`evaluate --real DATA` and `utility DATA` on a split folder (DATA/train + DATA/test): memorisation is judged
against the train split only, utility tests on the test split, and a test image leaked into train is an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import write_digits
from ganfactory.errors import InputError
from ganfactory.metrics.evaluate import EvaluateOptions, run_evaluate
from ganfactory.metrics.utility import load_sets


@pytest.fixture
def split_digits(tmp_path) -> Path:
    root = tmp_path / "digits"
    write_digits(root / "train", classes=(0, 1), per_class=12)
    write_digits(root / "test", classes=(0, 1), per_class=5, offset=40)
    return root


def _copies_of_train(split_digits: Path, out: Path, count: int) -> Path:
    for path in sorted((split_digits / "train" / "digit0").iterdir())[:count]:
        (out / "digit0").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / "digit0" / f"gen_{path.name}")
    return out


def test_evaluate_judges_memorisation_against_the_train_split(split_digits, tiny_torchscript, tmp_path):
    generated = _copies_of_train(split_digits, tmp_path / "generated", 4)
    result = run_evaluate(generated, split_digits, options=EvaluateOptions(features=tiny_torchscript, rounds=5,
                                                                           out=tmp_path / "evaluation"))
    report = result.report
    assert report["classes"]["real"] == ["digit0", "digit1"]  # not ["test", "train"]
    assert report["overall"]["n_real"] == 24
    memo = report["memorisation"]
    assert memo["count"] == 4 and all(Path(pair["training"]).parent.parent == split_digits / "train"
                                      for pair in memo["closest_pairs"])


def test_utility_uses_the_split_and_refuses_a_leak(split_digits, tmp_path):
    generated = _copies_of_train(split_digits, tmp_path / "generated", 3)
    train_set, test_set, gen_set, names = load_sets(split_digits, None, generated, test_fraction=None, resolution=16)
    assert names == ["digit0", "digit1"] and len(train_set.images) == 24 and len(test_set.images) == 10
    leaked = split_digits / "test" / "digit1" / "leak.png"
    shutil.copy(split_digits / "train" / "digit1" / sorted((split_digits / "train" / "digit1").iterdir())[0].name,
                leaked)
    with pytest.raises(InputError, match=f"The test image {leaked} is the same file as the training image"):
        load_sets(split_digits, None, generated, test_fraction=None, resolution=16)
