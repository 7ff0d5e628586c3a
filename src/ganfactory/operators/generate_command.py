"""`ganfactory generate MODEL OUT [options]`: generation from a trained model by the sampler of the operator that
made it, as `ganfactory export` dispatches to the exporter. Each operator's spec says what its models take:
`sample_options` (flags), `sample_inputs` (`--NAME PATH`), and `sampler` (what runs).

The command offers the flags of every registered operator; a flag the model's operator does not take, or a
required input left out, is refused with one sentence before anything is read or written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from ganfactory.cli_options import click_type, config_from_options
from ganfactory.config import RunOptions
from ganfactory.engine.contract import OperatorSpec, RunResult
from ganfactory.errors import CheckpointError, ConfigError

PATH = click.Path(path_type=Path)


@dataclass(frozen=True)
class _Flag:
    """One option of `generate`: a sample option of one or more operators, or an extra input (a path).
    helps / defaults: (operator, text) per operator that takes it."""

    name: str  # the parameter's Python name (generate_num)
    annotation: Any  # the field's type; Path for an extra input
    helps: tuple[tuple[str, str], ...]
    defaults: tuple[tuple[str, str], ...]

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(operator for operator, _ in self.helps)

    def help_text(self) -> str:
        """"(ops) help [default: value]", each part per operator only where the operators differ."""
        parts = [f"({', '.join(self.operators)})", _merged(self.helps), f"[{_merged(self.defaults, 'default: ')}]"]
        return " ".join(part for part in parts if part)


def _merged(texts: tuple[tuple[str, str], ...], prefix: str = "") -> str:
    """One text when every operator says the same, else "text (ops); other (ops)" (empty texts left out)."""
    distinct = list(dict.fromkeys(text for _, text in texts if text))
    if len(distinct) <= 1:
        return prefix + (distinct[0] if distinct else "")
    owners = {text: ", ".join(op for op, t in texts if t == text) for text in distinct}
    return prefix + "; ".join(f"{text} ({owners[text]})" for text in distinct)


def _flags(specs: Sequence[OperatorSpec]) -> dict[str, _Flag]:
    """Every option any operator's models take, by name. A name that is a path input of one operator and a
    sample option of another cannot be parsed both ways: TypeError, naming both."""
    flags: dict[str, _Flag] = {}
    for spec in (s for s in specs if s.sampler is not None):
        fields = spec.sample_options.model_fields if spec.sample_options else {}
        for name, field in fields.items():
            _add_flag(flags, _Flag(name, field.annotation, ((spec.name, field.description or ""),),
                                   ((spec.name, repr(field.default)),)))
        for extra in spec.sample_inputs:
            required = "required" if extra.required else "optional"
            _add_flag(flags, _Flag(extra.name.replace("-", "_"), Path, ((spec.name, extra.help),),
                                   ((spec.name, f"none, {required}"),)))
    return flags


def _add_flag(flags: dict[str, _Flag], new: _Flag) -> None:
    known = flags.get(new.name)
    if known is None:
        flags[new.name] = new
        return
    if (known.annotation is Path) != (new.annotation is Path):
        raise TypeError(f"{new.flag} is a path input of one of {known.operators + new.operators} and an option of "
                        "the other; rename one.")
    # Operators that share a flag with another type get it as text; each one's model validates it.
    annotation = known.annotation if known.annotation == new.annotation else str
    flags[new.name] = _Flag(new.name, annotation, known.helps + new.helps, known.defaults + new.defaults)


def _option(flag: _Flag) -> click.Option:
    if flag.annotation is Path:
        return click.Option([flag.flag, flag.name], type=PATH, default=None, help=flag.help_text())
    kind, is_flag = click_type(flag.annotation)
    if is_flag:
        return click.Option([f"{flag.flag}/--no-{flag.flag[2:]}", flag.name], default=None, help=flag.help_text())
    return click.Option([flag.flag, flag.name], type=kind, default=None, help=flag.help_text())


def generation_request(spec: OperatorSpec, model: Path, options: dict[str, Any]) -> tuple[RunOptions, tuple[Path, ...]]:
    """The config and inputs `spec`'s sampler gets for `generate MODEL OUT` with the parsed `options` (None:
    not given). Raises ConfigError (one sentence) for an option `spec`'s models do not take, a required input
    left out or a bad value."""
    _refuse_unfit(spec, model, options)
    if options.get("config_file") is not None and spec.sample_options is None:
        raise ConfigError(f"{model} is a {spec.name} model, which takes no options; drop --config.")
    sample = config_from_options(spec.sample_options, options).model_dump() if spec.sample_options else {}
    try:
        config = spec.config.model_validate({**sample, "predict": True, "resume": str(model)})
    except ValidationError as exc:
        raise ConfigError(f"Invalid generation options for a {spec.name} model: "
                          f"{exc.errors()[0].get('msg', 'invalid value')}.") from None
    names = [extra.name.replace("-", "_") for extra in spec.sample_inputs]
    return config, tuple(Path(options[name]) for name in names if options.get(name) is not None)


def _refuse_unfit(spec: OperatorSpec, model: Path, options: dict[str, Any]) -> None:
    """One sentence for the first given option `spec`'s models do not take, or required input not given."""
    sample_fields = set(spec.sample_options.model_fields) if spec.sample_options else set()
    inputs = {extra.name.replace("-", "_"): extra for extra in spec.sample_inputs}
    given = [name for name, value in options.items() if value is not None and name != "config_file"]
    foreign = [name for name in given if name not in sample_fields and name not in inputs]
    if foreign:
        offered = ", ".join("--" + n.replace("_", "-") for n in sorted(sample_fields | set(inputs))) or "none"
        raise ConfigError(f"{model} is a {spec.name} model, which takes no --{foreign[0].replace('_', '-')}; "
                          f"drop it (the options of a {spec.name} model: {offered}).")
    missing = [extra for name, extra in inputs.items() if extra.required and options.get(name) is None]
    if missing:
        raise ConfigError(f"{model} is a {spec.name} model: 'ganfactory generate' needs --{missing[0].name} PATH "
                          f"for it ({missing[0].help.rstrip('.').lower()}); add it.")


def model_spec(model: Path, specs: Sequence[OperatorSpec]) -> OperatorSpec:
    """The spec of the operator that made MODEL, if its models can be sampled; else CheckpointError, one sentence."""
    from ganfactory.operators.model_identity import model_operator

    name = model_operator(model, specs)
    if name is None:
        raise CheckpointError(f"{model} is not a model ganfactory recognises; pass a run folder, .pt checkpoint or "
                              ".onnx written by a ganfactory operator.")
    spec = next((s for s in specs if s.name == name), None)
    if spec is None:
        raise CheckpointError(f"{model} was made by the '{name}' operator, which is not installed here; install "
                              "the package that provides it.")
    if spec.sampler is None:
        instead = f"'ganfactory {name} --predict --resume MODEL'" if spec.predict else f"'ganfactory {name}'"
        raise CheckpointError(f"{model} is a {name} model, which 'ganfactory generate' cannot sample; use {instead} "
                              "instead.")
    return spec


def generate_from_model(model: Path, out: Path, options: dict[str, Any], specs: Sequence[OperatorSpec]) -> RunResult:
    """Generate into OUT with MODEL (run folder, checkpoint or .onnx) by its operator's sampler."""
    from ganfactory.engine.driver import run_operator

    spec = model_spec(Path(model), specs)
    config, inputs = generation_request(spec, Path(model), options)
    return run_operator(spec, inputs, out, config, sampler_only=True)


def generate_command(specs: Sequence[OperatorSpec]) -> click.Command:
    """`ganfactory generate MODEL OUT` over the operators in `specs` (the registry's)."""
    samplers = [s.name for s in specs if s.sampler is not None]

    def callback(model: Path, out: Path, **options: Any) -> None:
        result = generate_from_model(model, out, options, specs)
        click.echo(f"Wrote {result.images_written} images to {result.run.data_dir}")
        click.echo(f"Manifest: {result.run.manifest_path}")

    params: list[click.Parameter] = [click.Argument(["model"], type=PATH), click.Argument(["out"], type=PATH)]
    params += [_option(flag) for flag in _flags(specs).values()]
    params.append(click.Option(["--config", "config_file"], type=click.Path(path_type=Path, dir_okay=False),
                               default=None, help="YAML or JSON file of parameters; flags override it."))
    return click.Command("generate", callback=callback, params=params, help=(
        f"Generate into OUT with a trained MODEL (run folder, .pt checkpoint or .onnx) of {', '.join(samplers)}.\n\n"
        "The operator that made MODEL decides what runs and which options it takes (each option names its "
        "operators); the architecture, resolution and classes come from MODEL. Files OUT already holds from the "
        "same model and parameters are kept; those made with another model or parameters are replaced (files and "
        "manifest lines)."))


def register(group: click.Group) -> None:
    from ganfactory.operators.registry import all_operators

    group.add_command(generate_command(all_operators()))
