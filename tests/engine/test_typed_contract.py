"""The operator contract is typed all the way down: operators read env.config through RunEnv[TheirConfig] (no
isinstance asserts), take a Precision object as it is (never its name compared or rebuilt), and their trainables
take hyper-parameter objects, not the command line's config."""

from __future__ import annotations

import re
from pathlib import Path

import ganfactory.operators as operators_package
from ganfactory.engine.loop import Trainable

OPERATORS = Path(operators_package.__file__).parent
FORBIDDEN = {
    "an isinstance check of the config": re.compile(r"isinstance\(\s*(env\.)?config\b"),
    "a precision turned into its name": re.compile(r"str\(\s*(env\.|self\.)?precision\s*\)"),
    "a precision compared to a name": re.compile(r"precision\s*[!=]=\s*[\"']"),
}


def test_no_operator_checks_its_config_type_or_precision_by_name() -> None:
    found = [f"{path.relative_to(OPERATORS)}:{number}: {what}"
             for path in sorted(OPERATORS.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for what, pattern in FORBIDDEN.items() if pattern.search(line)]
    assert not found, found


def test_every_trainable_takes_hyper_parameters_and_inherits_the_optional_hooks() -> None:
    import inspect

    from ganfactory.operators.cyclegan.cut import CUTTrainable
    from ganfactory.operators.cyclegan.training import CycleGANTrainable
    from ganfactory.operators.datasetgan.training import InterpreterTrainable
    from ganfactory.operators.stackgan.training import Stage1Trainable, Stage2Trainable
    from ganfactory.operators.stylegan.training import StyleGANTrainable

    for kind in (CUTTrainable, CycleGANTrainable, InterpreterTrainable, Stage1Trainable, Stage2Trainable,
                 StyleGANTrainable):
        assert Trainable in kind.__mro__, kind  # subclassed: the hooks' defaults are inherited
        parameters = inspect.signature(kind.__init__).parameters
        assert "config" not in parameters, kind  # the hyper-parameters arrive as `hparams` (from_config)
    assert Trainable.tick_health(CUTTrainable.__new__(CUTTrainable)) == {}  # a hook's default does nothing
