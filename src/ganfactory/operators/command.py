"""An operator's command (`ganfactory NAME INPUTS... OUT [options]`) and its typed request, both made
from the operator's spec: the CLI, the job queue and the web console read and write the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ganfactory.cli_options import config_from_options, config_options
from ganfactory.config import RunOptions, build_config
from ganfactory.engine.contract import OperatorSpec

PATH = click.Path(path_type=Path)


@dataclass(frozen=True)
class OperatorRequest:
    """One run of an operator, typed: what a queued job stores (absolute paths, a validated config)."""

    operator: str
    inputs: tuple[Path, ...]
    out: Path
    config: RunOptions

    def to_json(self) -> dict[str, Any]:
        return {"operator": self.operator, "inputs": [str(p) for p in self.inputs], "out": str(self.out),
                "config": self.config.to_json_dict()}

    @classmethod
    def from_json(cls, data: dict[str, Any], spec: OperatorSpec) -> "OperatorRequest":
        return cls(operator=spec.name, inputs=tuple(Path(p) for p in data["inputs"]), out=Path(data["out"]),
                   config=build_config(spec.config, base=data["config"]))

    def argv(self) -> list[str]:
        """The command-line arguments that run exactly this request: inputs, OUT and every set parameter."""
        args = [str(p) for p in self.inputs] + [str(self.out)]
        for name, value in self.config.model_dump().items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                args.append(flag if value else f"--no-{flag[2:]}")
            elif value is not None:
                args += [flag, repr(value) if isinstance(value, float) else str(value)]
        return args


class OperatorCommand(click.Command):
    """The click command of an operator; knows its spec so a parsed command line becomes a typed request."""

    def __init__(self, spec: OperatorSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def request(self, params: dict[str, Any], *, cwd: Path) -> OperatorRequest:
        """The typed request of parsed parameters (relative paths against cwd). Raises ConfigError."""
        def absolute(value: Any) -> Path:
            path = Path(str(value)).expanduser()
            return (path if path.is_absolute() else cwd / path).resolve()

        inputs = tuple(absolute(params[name]) for name in self.spec.input_names if params.get(name) is not None)
        config = config_from_options(self.spec.config, params)
        return OperatorRequest(operator=self.spec.name, inputs=inputs, out=absolute(params["out"]), config=config)


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
