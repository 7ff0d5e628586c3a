"""The submit form of an operator, made from its config model: one field per parameter with its default,
help text and constraints, and the parsing of a posted form back into a validated config and command line."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from ganfactory.config import OperatorConfig, RunOptions
from ganfactory.engine.contract import OperatorSpec
from ganfactory.errors import ConfigError
from ganfactory.operators.command import StepCommand, operator_command, queueable_steps

_SHARED = set(RunOptions.model_fields)  # shown in a folded "run options" group


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str  # "bool", "choice", "int", "float" or "text"
    default: Any
    optional: bool  # empty means "not set" (None)
    choices: tuple[str, ...]
    help: str
    shared: bool
    choice_values: tuple[Any, ...] = ()  # the Literal's own values (ints stay ints)

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _kind(annotation: Any) -> tuple[str, bool, tuple[Any, ...]]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        kind, _, choices = _kind(next(a for a in args if a is not type(None)))
        if kind == "bool" and type(None) in args:  # on, off or the preset's: a checkbox has no third state
            return "choice", True, (True, False)
        return kind, type(None) in args, choices
    if origin is Literal:
        return "choice", False, typing.get_args(annotation)
    return {bool: "bool", int: "int", float: "float"}.get(annotation, "text"), False, ()


def _constraints(info: FieldInfo) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    parts = [f"{words[name]} {getattr(meta, name)}" for meta in info.metadata for name in words
             if getattr(meta, name, None) is not None]
    return ", ".join(parts)


def operator_steps(spec: OperatorSpec) -> dict[str, StepCommand]:
    """The steps of an operator whose command is a group of steps (DatasetGAN), in the group's order (the
    order of its workflow: sample, train, generate, evaluate); {} for a plain operator."""
    group = operator_command(spec)
    steps = queueable_steps(group)
    return {name: steps[name] for name in getattr(group, "commands", {}) if name in steps}


@dataclass(frozen=True)
class FormTarget:
    """What one submit form queues: a plain operator, or one step of an operator with steps."""

    spec: OperatorSpec
    step: str | None
    config: type[OperatorConfig]
    input_names: tuple[str, ...]
    options: frozenset[str] | None  # the config fields the step takes as flags (None: all of them)
    help: str


def form_target(spec: OperatorSpec, step: str | None = None) -> FormTarget:
    """The form of `spec` (or of its STEP; an operator with steps gets its first step when none is named).
    Raises ConfigError for a step the operator does not have."""
    steps = operator_steps(spec)
    if not steps:
        if step:
            raise ConfigError(f"'{spec.name}' has no steps; submit it without one.")
        return FormTarget(spec=spec, step=None, config=spec.config, input_names=spec.input_names, options=None,
                          help=spec.summary.splitlines()[0])
    name = step or next(iter(steps))
    command = steps.get(name)
    if command is None:
        raise ConfigError(f"'{spec.name}' has no step '{name}'; its steps: {', '.join(steps)}.")
    return FormTarget(spec=spec, step=name, config=command.config_model, input_names=command.input_names,
                      options=command.option_fields, help=" ".join((command.help or "").split()))


def form_fields(spec: OperatorSpec | FormTarget) -> list[FormField]:
    """The operator's (or step's) own parameters first, then the shared run options."""
    target = spec if isinstance(spec, FormTarget) else form_target(spec)
    fields = []
    for name, info in target.config.model_fields.items():
        if target.options is not None and name not in target.options:
            continue  # a field the step sets itself (datasetgan generate: predict, resume)
        kind, optional, choices = _kind(info.annotation)
        rules = _constraints(info)
        text = " ".join(part for part in (info.description or "", f"({rules})" if rules else "") if part)
        fields.append(FormField(name=name, kind=kind, default=info.default, optional=optional,
                                choices=tuple(str(c) for c in choices), help=text, shared=name in _SHARED,
                                choice_values=tuple(choices)))
    return sorted(fields, key=lambda f: f.shared)


@dataclass
class ParsedForm:
    values: dict[str, str]  # what the user typed, to fill the form again
    errors: dict[str, str]  # field name -> message shown beside it
    argv: list[str]  # INPUTS... OUT and the flags that differ from the defaults


def _raw_value(field: FormField, form: dict[str, str]) -> Any:
    text = form.get(field.name, "").strip()
    if field.kind == "bool":
        return field.name in form and text not in ("", "false", "off", "0")
    if text == "":  # an emptied field means "the default": not sent, so the worker never sees ""
        return None
    if field.kind == "choice":  # the option's text back to the Literal's value (channels: "3" -> 3)
        return dict(zip(field.choices, field.choice_values)).get(text, text)
    return text


def _flags(config: OperatorConfig, fields: list[FormField]) -> list[str]:
    args: list[str] = []
    for field in fields:
        value = getattr(config, field.name)
        if value == field.default:
            continue
        if isinstance(value, bool):
            args.append(field.flag if value else f"--no-{field.flag[2:]}")
        elif value is not None:
            args += [field.flag, repr(value) if isinstance(value, float) else str(value)]
    return args


def parse_form(spec: OperatorSpec | FormTarget, form: dict[str, str], *, cwd: Path) -> ParsedForm:
    """Validate a posted form: input folders must exist, OUT must be given, the config must validate.
    Every problem is reported beside its field (pydantic's message, without its prefix). A step's command line
    starts with the step's name (`train OUT --epochs 2`), as `ganfactory jobs submit datasetgan` takes it."""
    target = spec if isinstance(spec, FormTarget) else form_target(spec)
    fields = form_fields(target)
    values = {name: str(value) for name, value in form.items()}
    errors: dict[str, str] = {}
    paths = [target.step] if target.step else []
    for name in (*target.input_names, "out"):
        text = form.get(name, "").strip()
        if not text:
            errors[name] = "required: a folder path"
        elif name != "out" and not ((cwd / Path(text).expanduser()).is_dir()):
            errors[name] = f"no such folder (relative paths start at {cwd})"
        paths.append(text)
    raw = {f.name: _raw_value(f, form) for f in fields}
    config = None
    try:
        config = target.config.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error.get("loc") else "form"
            errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    argv = paths + (_flags(config, fields) if config is not None else [])
    return ParsedForm(values=values, errors=errors, argv=argv)
