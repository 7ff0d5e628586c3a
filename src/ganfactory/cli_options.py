"""Command-line options made from an operator's config model, so names and defaults live in one place.

Every option defaults to None ("not given"): a value then comes from --config or the model's default,
and only flags the user typed override the file.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import click

from ganfactory.config import ConfigT, build_config


def click_type(annotation: Any) -> tuple[Any, bool]:
    """(click type, is_flag) for a pydantic field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return click_type(inner[0])
    if origin is Literal:
        choices = typing.get_args(annotation)
        if all(isinstance(c, int) for c in choices):
            return click.IntRange(min(choices), max(choices)), False
        return click.Choice([str(c) for c in choices]), False
    if annotation is bool:
        return bool, True
    return {int: int, float: float, str: str}.get(annotation, str), False


def config_options(model: type[ConfigT], *, skip: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Decorator adding one option per config field, plus --config FILE."""
    def decorate(function: Callable) -> Callable:
        for name, field in reversed(list(model.model_fields.items())):
            if name in skip:
                continue
            flag = "--" + name.replace("_", "-")
            kind, is_flag = click_type(field.annotation)
            help_text = f"{field.description + ' ' if field.description else ''}[default: {field.default!r}]"
            if is_flag:
                decl = f"{flag}/--no-{flag[2:]}"
                function = click.option(decl, name, default=None, help=help_text)(function)
            else:
                function = click.option(flag, name, type=kind, default=None, help=help_text)(function)
        return click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
                            default=None, help="YAML or JSON file of parameters; flags override it.")(function)
    return decorate


def config_from_options(model: type[ConfigT], options: dict[str, Any]) -> ConfigT:
    """Build the config from the options collected by `config_options`."""
    options = dict(options)
    config_file = options.pop("config_file", None)
    overrides = {k: v for k, v in options.items() if k in model.model_fields}
    return build_config(model, config_file=config_file, overrides=overrides)
