"""The operator battery over the registry itself: every registered operator has a battery declaration (its
test_battery.py, see tests/operator_battery.py), and the checks that need no inputs run on every registered spec:
`--help` lists every option the command reads, a bad input is one line and a non-zero exit, and every lazy
target of the spec resolves to a function."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from ganfactory.engine.contract import OperatorSpec
from ganfactory.operators.command import operator_command, queueable_steps
from ganfactory.operators.registry import all_operators
from operator_battery import assert_one_line_error

TESTS = Path(__file__).resolve().parents[1]
SPECS = all_operators()


def _ids(spec: OperatorSpec) -> str:
    return spec.name


def _commands(spec: OperatorSpec) -> list[tuple[list[str], click.Command, frozenset[str], tuple[str, ...]]]:
    """(words before the arguments, command, config fields it offers as options, its input names) of the
    operator's command, or of each queueable step when the command is a group of steps."""
    command = operator_command(spec)
    steps = queueable_steps(command)
    if not steps:
        return [([spec.name], command, frozenset(spec.config.model_fields), spec.input_names)]
    return [([spec.name, name], step, step.option_fields, step.input_names) for name, step in steps.items()]


def test_the_registry_holds_the_built_in_operators() -> None:
    assert {spec.name for spec in SPECS} >= {"stylegan", "cyclegan", "datasetgan", "stackgan"}


@pytest.mark.parametrize("spec", SPECS, ids=_ids)
def test_every_registered_operator_has_a_battery_declaration(spec: OperatorSpec) -> None:
    declared = {path.parent.name for path in TESTS.rglob("test_battery.py")
                if "(OperatorBattery)" in path.read_text(encoding="utf-8")}
    assert spec.name in declared, (f"add tests/.../{spec.name}/test_battery.py with a class that subclasses "
                                   "OperatorBattery (see tests/operator_battery.py)")


@pytest.mark.parametrize("spec", SPECS, ids=_ids)
def test_help_lists_every_option_the_command_reads(spec: OperatorSpec, in_process) -> None:
    for words, _, fields, _ in _commands(spec):
        result = in_process(*words, "--help")
        assert result.returncode == 0, result.stderr
        missing = [name for name in sorted(fields) if f"--{name.replace('_', '-')}" not in result.stdout]
        assert not missing, f"'{' '.join(words)} --help' does not list {missing}"


@pytest.mark.parametrize("spec", SPECS, ids=_ids)
def test_a_missing_input_is_one_line_and_a_non_zero_exit(spec: OperatorSpec, in_process, tmp_path: Path) -> None:
    for words, _, _, inputs in _commands(spec):
        positional = [tmp_path / f"missing-{name}" for name in inputs] + [tmp_path / "missing-out"]
        result = in_process(*words, *positional, "--device", "cpu")
        assert result.returncode != 0, f"{' '.join(words)}: {result.stdout}"
        assert_one_line_error(result, code=result.returncode)


def _lazy_target(function: Callable[..., Any]) -> str | None:
    """The "module:function" a lazy() function imports on its first call; None for a plain function. Read from
    `lazy_target` where contract.lazy records it, else from the closure it keeps."""
    recorded = getattr(function, "lazy_target", None)
    if recorded is not None:
        return str(recorded)
    names = inspect.getclosurevars(function).nonlocals if inspect.isfunction(function) else {}
    if {"module_name", "attribute"} <= names.keys():
        return f"{names['module_name']}:{names['attribute']}"
    return None


@pytest.mark.parametrize("spec", SPECS, ids=_ids)
def test_every_lazy_target_of_the_spec_resolves_to_a_function(spec: OperatorSpec) -> None:
    targets = [target for name in ("plan", "generate", "predict", "sampler", "exporter", "recognises", "report",
                                   "command")
               if callable(getattr(spec, name)) and (target := _lazy_target(getattr(spec, name))) is not None]
    assert targets, f"{spec.name}: no lazy target found (its plan and generate are lazy)"
    for target in targets:
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute, None)), f"{spec.name}: {target}"
