"""Issue 21, section 3: `evaluate` and `utility` refuse, in one sentence, what would change an input or give a
figure that means nothing."""

from __future__ import annotations

import json
import os

import pytest

from conftest import write_digits
from run_outputs import tree_digest


def _one_sentence(code: int, err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and err.rstrip().endswith(errors[0]), err
    assert "internal error" not in err and "Traceback" not in err
    return errors[0]


@pytest.mark.parametrize("case", ["real_inside_out", "generated_inside_out", "out_is_a_symlink_to_real"])
def test_evaluate_refuses_an_out_around_its_inputs(tmp_path, tiny_torchscript, cli, case):
    """Fault 7's kind: only OUT inside --real was refused; an input inside --out (or behind a symlink) was not."""
    out = tmp_path / "eval"
    real = write_digits((out if case == "real_inside_out" else tmp_path) / "real", classes=(0, 1), per_class=6)
    generated = write_digits((out if case == "generated_inside_out" else tmp_path) / "generated", classes=(0, 1),
                             per_class=6, offset=6)
    if case == "out_is_a_symlink_to_real":
        os.symlink(real, out)
    before = tree_digest(tmp_path)
    code, _, err = cli("evaluate", generated, "--real", real, "--features", tiny_torchscript, "--features-size", "32",
                       "--bootstrap", "10", "--out", out)
    assert "choose an output location apart from every input" in _one_sentence(code, err)
    assert tree_digest(tmp_path) == before


def test_outliers_refuse_data_inside_their_out(tmp_path, tiny_torchscript, cli):
    """The same kind in `validate --outliers`: only an --outliers-out inside DATA was refused, not DATA inside it."""
    out = tmp_path / "report"
    data = write_digits(out / "data", classes=(0, 1), per_class=6)
    before = tree_digest(tmp_path)
    code, _, err = cli("validate", data, "--min-images", "5", "--resolution", "16", "--outliers", "--features",
                       tiny_torchscript, "--outliers-out", out)
    assert "data lies inside the output folder" in _one_sentence(code, err)
    assert tree_digest(tmp_path) == before


def _rename(root, renames):
    for old, new in renames.items():
        (root / old).rename(root / new)
    return root


def test_evaluate_keeps_a_class_row_when_folder_names_differ_in_case(tmp_path, tiny_torchscript, cli):
    """Issue 21, fault 17: real 'digit0' and generated 'Digit0' are one class; its per-class row used to vanish.
    A class found in one set only keeps its row too, with the reason its figures are missing."""
    real = write_digits(tmp_path / "real", classes=(0, 1), per_class=12)
    generated = _rename(write_digits(tmp_path / "generated", classes=(0, 1, 2), per_class=12, offset=12),
                        {"digit0": "Digit0", "digit1": "DIGIT1"})
    code, out, err = cli("evaluate", generated, "--real", real, "--features", tiny_torchscript, "--features-size",
                         "32", "--bootstrap", "10", "--out", tmp_path / "eval")
    assert code == 0, err
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    rows = report["per_class"]
    assert set(rows) == {"Digit0", "DIGIT1", "digit2"}
    assert rows["Digit0"]["n_real"] == rows["DIGIT1"]["n_real"] == 12 and "fid" in rows["Digit0"]
    assert rows["digit2"]["n_real"] == 0 and "no real images" in json.dumps(rows["digit2"]["skipped"])
    assert any(line.startswith("digit2") for line in out.splitlines())


def test_utility_matches_class_names_that_differ_in_case(tmp_path, cli):
    real = write_digits(tmp_path / "real", classes=(0, 1), per_class=10)
    generated = _rename(write_digits(tmp_path / "generated", classes=(0, 1), per_class=10, offset=10),
                        {"digit0": "Digit0"})
    code, out, err = cli("utility", real, "--generated", generated, "--test-fraction", "0.3", "--seeds", "1",
                         "--epochs", "1", "--resolution", "8")
    assert code == 0, err
    assert "real+generated" in out


def test_utility_refuses_a_single_class(tmp_path, cli):
    """Issue 21, fault 17: with one class every classifier is right, so CAS printed 1.000 for every condition."""
    real = write_digits(tmp_path / "real", classes=(3,), per_class=10)
    generated = write_digits(tmp_path / "generated", classes=(3,), per_class=10, offset=10)
    code, out, err = cli("utility", real, "--generated", generated, "--test-fraction", "0.3", "--seeds", "1",
                         "--epochs", "1", "--resolution", "8")
    message = _one_sentence(code, err)
    assert "two classes" in message and "1.000" not in out


def test_match_class_names_only_joins_names_that_differ_in_case_alone():
    from ganfactory.data.discovery import match_class_names

    assert match_class_names(["Cats", "dogs"], ["cats", "dogs"]) == {"Cats": "cats", "dogs": "dogs"}
    assert match_class_names(["cats", "Cats"], ["CATS"]) == {"cats": "cats", "Cats": "Cats"}  # ambiguous: kept
    assert match_class_names(["Cats"], ["cats", "CATS"]) == {"Cats": "Cats"}  # ambiguous: kept
    assert match_class_names(["cats", "Cats"], ["cats"]) == {"cats": "cats", "Cats": "Cats"}  # taken: kept
    assert match_class_names(["birds"], ["cats"]) == {"birds": "birds"}
