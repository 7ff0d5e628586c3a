"""An operator's command (`ganfactory NAME INPUTS... OUT [options]`) and its typed request, both made
from the operator's spec: the CLI, the job queue and the web console read and write the same thing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ganfactory.cli_options import config_from_options, config_options
from ganfactory.config import OperatorConfig, build_config
from ganfactory.engine.contract import OperatorSpec
from ganfactory.errors import ConfigError

PATH = click.Path(path_type=Path)


@dataclass(frozen=True)
class OperatorRequest:
    """One run of an operator, typed: what a queued job stores (absolute paths, a validated config).
    step: the step of an operator whose command is a group of steps (`datasetgan train`), None otherwise;
    options: the config fields the command takes as flags (None: all of them)."""

    operator: str
    inputs: tuple[Path, ...]
    out: Path
    config: OperatorConfig
    step: str | None = None
    options: frozenset[str] | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"operator": self.operator, "inputs": [str(p) for p in self.inputs], "out": str(self.out),
                "config": self.config.to_json_dict()}
        return data if self.step is None else {**data, "step": self.step}

    @classmethod
    def from_json(cls, data: dict[str, Any], spec: OperatorSpec) -> OperatorRequest:
        """The request a job stored; ConfigError when its step or config no longer fits the operator."""
        step = data.get("step")
        config_model: type[OperatorConfig] = spec.config
        options, stored = None, dict(data["config"])
        if step is not None:
            command = step_command(spec, step)
            config_model, options = command.config_model, command.option_fields
            # A step job queued when its operator had one option model for every step stored all of its fields
            # (defaults included); the step's own model keeps the ones it reads.
            stored = {key: value for key, value in stored.items() if key in config_model.model_fields}
        return cls(operator=spec.name, inputs=tuple(Path(p) for p in data["inputs"]), out=Path(data["out"]),
                   config=build_config(config_model, base=stored), step=step, options=options)

    def argv(self) -> list[str]:
        """The command-line arguments that run exactly this request: [step], inputs, OUT and every set parameter."""
        args = ([self.step] if self.step else []) + [str(p) for p in self.inputs] + [str(self.out)]
        for name, value in self.config.model_dump().items():
            if self.options is not None and name not in self.options:
                continue
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                args.append(flag if value else f"--no-{flag[2:]}")
            elif value is not None:
                args += [flag, repr(value) if isinstance(value, float) else str(value)]
        return args


def _absolute(value: Any, cwd: Path) -> Path:
    path = Path(str(value)).expanduser()
    return (path if path.is_absolute() else cwd / path).resolve()


class StepCommand(click.Command):
    """One step of an operator whose command is a group (`ganfactory NAME STEP INPUTS... OUT [options]`): knows
    its config model, so a parsed command line becomes a typed request like a plain operator's.

    input_names: the step's positional inputs before OUT; skip: config fields without a flag; paths: config
    fields that hold paths (made absolute in the request, so a job runs the same from any folder)."""

    def __init__(self, spec: OperatorSpec, *, config_model: type[OperatorConfig], input_names: tuple[str, ...] = (),
                 skip: tuple[str, ...] = (), paths: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec, self.config_model, self.input_names, self.paths = spec, config_model, input_names, paths
        self.option_fields = frozenset(set(config_model.model_fields) - set(skip))

    def request(self, params: dict[str, Any], *, cwd: Path) -> OperatorRequest:
        """The typed request of parsed parameters (relative paths against cwd). Raises ConfigError."""
        params = {k: (str(_absolute(v, cwd)) if k in self.paths and v else v) for k, v in params.items()}
        config = config_from_options(self.config_model, params)
        inputs = tuple(_absolute(params[name], cwd) for name in self.input_names if params.get(name) is not None)
        return OperatorRequest(operator=self.spec.name, inputs=inputs, out=_absolute(params["out"], cwd),
                               config=config, step=self.name, options=self.option_fields)


def step(group: click.Group, spec: OperatorSpec, name: str, *, config_model: type[OperatorConfig],
         input_names: tuple[str, ...] = (), skip: tuple[str, ...] = (),
         paths: tuple[str, ...] = ()) -> Callable[[Callable], StepCommand]:
    """Decorator: `callback(INPUTS..., out, **options)` becomes the step NAME of `group`, a StepCommand with one
    option per config field (but `skip`); its docstring is the step's help."""
    def decorate(callback: Callable) -> StepCommand:
        wrapped = config_options(config_model, skip=skip)(callback)
        params = [click.Argument([n], type=PATH) for n in (*input_names, "out")]
        params += getattr(wrapped, "__click_params__", [])[::-1]
        command = StepCommand(spec, config_model=config_model, input_names=input_names, skip=skip, paths=paths,
                              name=name, callback=wrapped, params=params, help=callback.__doc__)
        group.add_command(command)
        return command
    return decorate


def queueable_steps(command: click.Command) -> dict[str, StepCommand]:
    """The steps of an operator's command group that can be queued as jobs (by name); {} for a plain command.
    A group may also hold plain commands (datasetgan add-real), which are run directly, never queued."""
    if not isinstance(command, click.Group):
        return {}
    return {name: c for name, c in sorted(command.commands.items()) if isinstance(c, StepCommand)}


def step_command(spec: OperatorSpec, name: str) -> StepCommand:
    """The step NAME of an operator whose command is a group of steps; ConfigError for an unknown step."""
    steps = queueable_steps(operator_command(spec))
    command = steps.get(name)
    if command is None:
        raise ConfigError(f"'{spec.name}' has no step '{name}'"
                          + (f"; its steps: {', '.join(steps)}." if steps else "."))
    return command


class OperatorCommand(click.Command):
    """The click command of an operator; knows its spec so a parsed command line becomes a typed request."""

    def __init__(self, spec: OperatorSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def request(self, params: dict[str, Any], *, cwd: Path) -> OperatorRequest:
        """The typed request of parsed parameters (relative paths against cwd). Raises ConfigError."""
        inputs = tuple(_absolute(params[name], cwd) for name in self.spec.input_names if params.get(name) is not None)
        config = config_from_options(self.spec.config, params)
        return OperatorRequest(operator=self.spec.name, inputs=inputs, out=_absolute(params["out"], cwd),
                               config=config)


def operator_commands(specs: list[OperatorSpec]) -> list[click.Command]:
    """Every command the operators declare: `ganfactory NAME` per spec and its extra `commands`.
    Raises TypeError when two of them share a name."""
    commands: list[click.Command] = []
    for spec in specs:
        commands += [operator_command(spec), *(make(spec) for make in spec.commands)]
    names = [command.name for command in commands]
    clash = next((name for name in names if names.count(name) > 1), None)
    if clash is not None:
        raise TypeError(f"Two operator commands are named '{clash}'; rename one.")
    return commands


def operator_command(spec: OperatorSpec) -> OperatorCommand:
    """`ganfactory NAME INPUTS... OUT [options]`: parse, run the driver, print the operator's report.
    An operator with its own `command` (a group of steps) builds it itself."""
    if spec.command is not None:
        return spec.command(spec)

    def callback(**params: Any) -> None:
        from ganfactory.engine.distributed import is_main_process
        from ganfactory.engine.driver import run_operator

        config = config_from_options(spec.config, params)
        inputs = tuple(params.get(name) for name in spec.input_names)
        result = run_operator(spec, inputs, params["out"], config)
        if is_main_process():  # under torchrun only rank 0 reports
            for line in (spec.report(result) if spec.report else [f"Run folder: {result.run.root}"]):
                click.echo(line)
            if result.budget_reached:
                click.echo(f"Time budget reached: trained {result.done:.3g} of {result.total:g} {result.unit}; run the "
                           "same command again to train on.")

    callback = config_options(spec.config)(callback)
    params = [click.Argument([name], type=PATH) for name in spec.input_names]
    params += [click.Argument(["out"], type=PATH), *getattr(callback, "__click_params__", [])[::-1]]
    return OperatorCommand(spec, name=spec.name, callback=callback, params=params, help=spec.summary)
