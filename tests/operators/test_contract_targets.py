"""The operator contract checks itself: a lazy target with a typo fails when the spec is made (at import of the
registry), every registered target resolves, and the CLI's commands come from the specs alone."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

import ganfactory
from ganfactory.engine.contract import ExtraInput, OperatorSpec, lazy, resolve_targets
from ganfactory.operators.command import operator_commands
from ganfactory.operators.generate_command import generate_command
from ganfactory.operators.registry import all_operators
from ganfactory.operators.stylegan.config import StyleGANConfig

_OPERATOR = "ganfactory.operators.stylegan.operator"


@pytest.mark.parametrize("target, expected", [
    (f"{_OPERATOR}:plan_stylgan", "defines no 'plan_stylgan'"),
    ("ganfactory.operators.stylegan.operater:plan_stylegan", "there is no module"),
    ("ganfactory.operators.nowhere.operator:plan", "there is no module"),
    (f"{_OPERATOR}", "needs 'package.module:function'"),
])
def test_a_misspelt_lazy_target_fails_when_the_spec_is_made(target: str, expected: str) -> None:
    with pytest.raises(TypeError, match=expected):
        lazy(target)
    with pytest.raises(TypeError, match=expected):  # as a spec's field: at import of the module that makes it
        OperatorSpec(name="typo", summary="", config=StyleGANConfig, inputs="folder", plan=lazy(target),
                     generate=lazy(f"{_OPERATOR}:generate_after_training"))


def test_a_lazy_target_is_found_without_running_its_module() -> None:
    import sys

    sys.modules.pop("ganfactory.operators.cyclegan.onnx", None)
    lazy("ganfactory.operators.cyclegan.onnx:export_cyclegan")
    assert "ganfactory.operators.cyclegan.onnx" not in sys.modules


def test_every_registered_target_resolves_and_every_command_comes_from_a_spec() -> None:
    specs = all_operators()
    for spec in specs:
        resolved = resolve_targets(spec)  # imports each module: what the static check at lazy() promised
        assert resolved and all(callable(function) for function in resolved.values()), spec.name
    commands = operator_commands(specs)
    names = {command.name for command in commands}
    assert {"stylegan", "interpolate", "project", "stackgan", "stackgan-prepare", "cyclegan", "datasetgan"} <= names
    assert all(isinstance(command, click.Command) for command in commands)
    cli_source = (Path(ganfactory.__file__).parent / "cli.py").read_text(encoding="utf-8")
    assert not [spec.name for spec in specs if spec.name in cli_source]  # no operator named in cli.py


def test_generate_offers_each_operators_sample_options_and_inputs() -> None:
    specs = all_operators()
    offered = {param.name for param in generate_command(specs).params}
    for spec in specs:
        fields = set(spec.sample_options.model_fields) if spec.sample_options else set()
        assert fields | {extra.name.replace("-", "_") for extra in spec.sample_inputs} <= offered, spec.name


def test_extra_inputs_and_sample_options_must_fit_a_sampler() -> None:
    plan = lazy(f"{_OPERATOR}:plan_stylegan")
    generate = lazy(f"{_OPERATOR}:generate_after_training")
    with pytest.raises(TypeError, match="need a sampler"):
        OperatorSpec(name="nosampler", summary="", config=StyleGANConfig, inputs="folder", plan=plan,
                     generate=generate, sample_inputs=(ExtraInput("source", "Images."),))
    with pytest.raises(TypeError, match="lowercase"):
        ExtraInput("Source", "Images.")
