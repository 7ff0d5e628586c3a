"""Issue 21, section 3: `evaluate` and `utility` refuse, in one sentence, what would change an input or give a
figure that means nothing."""

from __future__ import annotations

import os

import pytest

from conftest import write_digits
from ganfactory.cli import main
from run_outputs import tree_digest


@pytest.fixture
def cli(capsys):
    def call(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call


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
