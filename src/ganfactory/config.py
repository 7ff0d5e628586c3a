"""Typed operator configuration: defaults, ModelArts key aliases, config files and one-sentence errors.

Each operator declares a pydantic model of its parameters (in its own folder); this module turns a
config file plus command-line overrides into a validated instance of that model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ganfactory.errors import ConfigError
from ganfactory.output.shards import Shard

ConfigT = TypeVar("ConfigT", bound="OperatorConfig")

# What --precision accepts: the one declaration of the names (engine.precision resolves "auto" to one of the others).
PrecisionChoice = Literal["auto", "fp32", "bf16", "fp16"]
PRECISION_CHOICES: tuple[str, ...] = get_args(PrecisionChoice)
PRECISION_HELP = "auto: bf16 where the device has native bf16, else fp16 on CUDA, else fp32."


class OperatorConfig(BaseModel):
    """Base of every operator's parameters: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    # Fields that hold a file or folder: a run's config.json records them absolute, like its inputs
    path_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def shard_part(self) -> Shard | None:
        """The share of a generation this run writes (`generate --shard K/N`); None: all of it. Operators that
        generate in shards override it; the engine lets the shards of one generation share OUT's lock."""
        return None

    @property
    def read_paths(self) -> tuple[Path, ...]:
        """Files or folders the run reads that its options name, besides its input folders (generation's
        --training-data); the engine protects them like inputs (OUT may not overlap them). Empty by default."""
        return ()

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RunOptions(OperatorConfig):
    """The options every operator shares (its config model extends this): how a run starts, where it runs,
    how it resumes and what it writes. Operator configs may change a default (CycleGAN: min_images 1)."""

    path_fields: ClassVar[tuple[str, ...]] = ("resume",)

    predict: bool = Field(False, description="Only generate, from --resume MODEL (no training).")
    resume: str = Field("", description="A run folder, checkpoint or .onnx to continue from or generate with.")
    do_validation: bool = Field(True, description="Check the input images first and write a report.")
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: PrecisionChoice = Field("auto", description=PRECISION_HELP)
    keep_checkpoints: int = Field(3, ge=1)
    use_checkpoint: Literal["best", "latest"] = Field(
        "best", description="Generate with the checkpoint of the best training metric (when one was kept) or the "
        "latest.")
    max_minutes: float | None = Field(
        None, gt=0, description="Training time budget: after this many minutes of training save a checkpoint and "
                                "generate from it (running the same command again trains on).")
    min_images: int = Field(70, ge=1)
    image_format: Literal["png", "jpg"] = "png"


def options_subset(model: type[OperatorConfig], name: str, fields: tuple[str, ...], doc: str) -> type[OperatorConfig]:
    """A config model holding only `fields` of `model`, with their types, defaults and help: e.g. the options
    `ganfactory generate` offers for an operator's models, declared once in the operator's config.

    Raises TypeError for a field `model` does not have."""
    missing = [f for f in fields if f not in model.model_fields]
    if missing:
        raise TypeError(f"{model.__name__} has no field {missing[0]!r}.")
    chosen: dict[str, Any] = {f: (model.model_fields[f].annotation, model.model_fields[f]) for f in fields}
    subset: type[OperatorConfig] = create_model(name, __base__=OperatorConfig, __doc__=doc, **chosen)
    subset.__module__ = model.__module__
    return subset


def normalise_key(key: str) -> str:
    """`total-kimg`, `total_kimg` and `--total-kimg` all name the same parameter."""
    return key.strip().lstrip("-").replace("-", "_").lower()


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON mapping of parameters."""
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist; pass the path of a YAML or JSON file to --config.")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"Config file {path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'} "
                          f"({str(exc).splitlines()[0]}); fix its syntax.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of parameter names to values.")
    return data


def _normalise_mapping(raw: dict[str, Any], allowed: set[str], origin: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in raw.items():
        name = normalise_key(str(key))
        if name not in allowed:
            raise ConfigError(f"Unknown parameter '{key}' in {origin}; allowed: {', '.join(sorted(allowed))}.")
        result[name] = value
    return result


def _describe_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first.get("loc", ())) or "configuration"
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return f"Invalid value {first.get('input')!r} for parameter '{name}': {message}."


def build_config(model: type[ConfigT], *, config_file: Path | None = None,
                 overrides: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> ConfigT:
    """Defaults <- `base` (e.g. a checkpoint's config) <- config file <- explicit overrides (None means unset)."""
    allowed = set(model.model_fields)
    values: dict[str, Any] = {}
    if base:
        values.update(_normalise_mapping(base, allowed, "the saved configuration"))
    if config_file is not None:
        values.update(_normalise_mapping(read_config_file(config_file), allowed, str(config_file)))
    explicit = {k: v for k, v in (overrides or {}).items() if v is not None}
    values.update(_normalise_mapping(explicit, allowed, "the command line"))
    try:
        return model(**values)
    except ValidationError as exc:
        raise ConfigError(_describe_error(exc)) from None


def is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def check_power_of_two(value: int, *, minimum: int = 4, maximum: int = 4096) -> int:
    """A pydantic field check for image sizes, with a message that names what is allowed."""
    if not (is_power_of_two(value) and minimum <= value <= maximum):
        raise ValueError(f"must be a power of two from {minimum} to {maximum} (e.g. 32, 64, 128, 256)")
    return value
