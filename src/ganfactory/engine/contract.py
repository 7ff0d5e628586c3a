"""The operator contract: what an operator tells ganfactory about itself, read by the CLI, `export`,
`generate`, the job queue and the driver (docs/adding-an-operator.md walks through it).

An operator is a folder with a config model (extending `RunOptions`), a `plan` function that says how to
train (one or more named stages), a `generate` function for after training, and optionally a predictor
(`--predict --resume MODEL`), a sampler (`ganfactory generate MODEL OUT`) and an exporter (`ganfactory
export RUN`). It becomes a command by one registration in `ganfactory.operators.registry`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from ganfactory.config import OperatorConfig, RunOptions

if TYPE_CHECKING:  # the contract itself stays light: `ganfactory --help` lists operators without torch
    import torch

    from ganfactory.engine.checkpoint import Architecture
    from ganfactory.engine.distributed import DistributedContext
    from ganfactory.engine.loop import Schedule, Trainable
    from ganfactory.engine.precision import Precision
    from ganfactory.engine.signals import StopRequest
    from ganfactory.output.layout import RunFolder

InputKind = Literal["folder", "two_folders", "run"]
# The positional arguments before OUT, per input kind (the CLI's argument names, the job queue's fields).
INPUT_NAMES: dict[str, tuple[str, ...]] = {"folder": ("data",), "two_folders": ("source", "target"),
                                           "run": ("run",)}
CHECKPOINT_FORMAT = 2  # 1: no "meta" (operator, stage, architecture) in the checkpoint
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


# The run's options as the operator's own config model: `RunEnv[StyleGANConfig]` types env.config for its functions.
ConfigT = TypeVar("ConfigT", bound=RunOptions, covariant=True)


@dataclass(frozen=True)
class RunEnv(Generic[ConfigT]):
    """Everything the driver decided for one run, handed to the operator's functions. `config` is an instance of
    the operator's spec.config (the driver checks it before anything runs)."""

    run: RunFolder
    config: ConfigT
    inputs: tuple[Path, ...]  # the input folders in INPUT_NAMES order (empty for --predict of a sampler)
    context: DistributedContext
    device: torch.device  # this rank's device
    precision: Precision  # resolved once: dtype, autocast, grad scaler
    stop: StopRequest | None = None  # set by SIGTERM/Ctrl-C: generation checks it between batches (exit 75)


@dataclass(frozen=True)
class Stage:
    """One training stage. `name` "" means the operator trains in one stage (checkpoints in model/);
    a named stage keeps its checkpoints in model/<name>/. `build` runs only when the stage starts, after
    the previous stages finished (so it may read their trainables)."""

    name: str
    build: Callable[[list[Trainable]], Trainable]  # the trainables of the finished stages -> this stage's
    schedule: Schedule
    # Both callbacks get the trainable that this stage's `build` made (its own concrete type, hence Any).
    # --resume CKPT on a fresh run folder: the state to continue from (None: start fresh, e.g. transfer learning)
    initial_state: Callable[[Any], dict[str, Any] | None] | None = None
    # The resolved architecture the checkpoint records, so it can rebuild its networks without the config
    architecture: Callable[[Any], Architecture] | None = None


@dataclass(frozen=True)
class TrainingPlan:
    stages: Sequence[Stage]
    config_record: dict[str, Any] = field(default_factory=dict)  # extra keys for config.json ("resolved", ...)


@dataclass(frozen=True)
class RunResult:
    run: RunFolder
    checkpoint: Path
    images_written: int
    done: float  # the last stage's progress in its unit (0 for --predict)
    unit: str = ""
    total: float = 0.0  # the last stage's total in its unit
    precision: str = ""  # the precision that ran ("fp32", "bf16", "fp16") on `device`
    device: str = ""
    budget_reached: bool = False  # training stopped on --max-minutes before its total
    train_seconds: float = 0.0  # wall time spent in the training stages


def lazy(target: str) -> Callable[..., Any]:
    """A function named "package.module:function", imported on its first call: an operator's spec can
    name its torch-heavy parts without importing them when the CLI only lists commands.

    The target is checked now without running its module (`check_target`), so a typo is a TypeError when the
    spec is made, not when that path first runs; `resolve_targets(spec)` imports every target of a spec."""
    check_target(target)
    module_name, _, attribute = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module_name), attribute)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attribute
    call.__doc__ = f"{target}, imported on first use."
    call.lazy_target = target  # type: ignore[attr-defined]  # read by resolve_targets
    return call


def check_target(target: str) -> None:
    """Raise TypeError unless "package.module:function" names a module that exists and defines that name at
    its top level (a def, class, assignment or import). The module's source is parsed, not run, so an
    operator's spec stays cheap to import and its module may import the spec back."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute.isidentifier():
        raise TypeError(f"lazy() needs 'package.module:function', not {target!r}.")
    try:
        found = importlib.util.find_spec(module_name)
    except ImportError:  # a missing parent package
        found = None
    if found is None:
        raise TypeError(f"lazy({target!r}): there is no module {module_name!r}; fix the spelling.")
    if found.origin is None or not found.origin.endswith(".py"):  # a compiled or namespace module: import it
        if not hasattr(importlib.import_module(module_name), attribute):
            raise TypeError(f"lazy({target!r}): {module_name} has no {attribute!r}; fix the spelling.")
        return
    if attribute not in _top_level_names(Path(found.origin)):
        raise TypeError(f"lazy({target!r}): {module_name} defines no {attribute!r}; fix the spelling.")


def _top_level_names(path: Path) -> set[str]:
    """The names a module binds at its top level (if/try blocks included, function bodies not)."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(ast.parse(path.read_bytes(), filename=str(path)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            pending += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                        *(s for h in getattr(node, "handlers", []) for s in h.body)]
    return names


def lazy_targets(value: Any) -> list[str]:
    """The "module:function" targets of the lazy functions in `value` (a function or a sequence of them)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [t for t in (getattr(item, "lazy_target", None) for item in items) if t]


def resolve_targets(spec: OperatorSpec) -> dict[str, Callable[..., Any]]:
    """Import every lazy target of `spec` and return them by "module:function": the full check behind lazy()'s
    cheap one (tests run it over the registry). Raises TypeError naming a target that is not a function; an
    import error of the target's module propagates."""
    resolved: dict[str, Callable[..., Any]] = {}
    for name in spec.__dataclass_fields__:
        for target in lazy_targets(getattr(spec, name)):
            module_name, _, attribute = target.partition(":")
            function = getattr(importlib.import_module(module_name), attribute, None)
            if not callable(function):
                raise TypeError(f"Operator '{spec.name}': {name} names {target!r}, which is not a function.")
            resolved[target] = function
    return resolved


Generate = Callable[[RunEnv, list[Any], dict[str, str]], int]  # env, trainables, provenance -> files written
Predict = Callable[[RunEnv, Path], int]  # env, model path (checkpoint or .onnx) -> files written
Export = Callable[[dict[str, Any], Path], Path]  # checkpoint (whole dict), output path -> written path


@dataclass(frozen=True)
class ExtraInput:
    """A file or folder `ganfactory generate MODEL OUT` takes as `--NAME PATH` for one operator's models (e.g.
    CycleGAN's `--source`, the folder to translate); the given ones reach the sampler as `env.inputs`, in the
    order the spec declares them.

    name: the option (`--NAME`; lowercase letters, digits and dashes); help: its `--help` text;
    required: a model of this operator is refused without it (one sentence naming the option)."""

    name: str
    help: str
    required: bool = True

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise TypeError(f"Extra input name {self.name!r} must be lowercase letters, digits and dashes.")


Command = Callable[["OperatorSpec"], Any]  # spec -> a click command (click is the CLI's business, not the engine's)


@dataclass(frozen=True)
class OperatorSpec:
    """One operator, as every front end sees it.

    name: the command (`ganfactory NAME`); lowercase letters, digits and dashes.
    summary: the command's help text (first line: the `--help` listing).
    config: the pydantic model of its parameters; extends RunOptions.
    inputs: "folder" (DATA OUT), "two_folders" (SOURCE TARGET OUT) or "run" (RUN OUT).
    plan: (env) -> the stages to train.
    generate: what the run writes after training (images, translations, pairs).
    predict: `--predict --resume MODEL` without training (None: the operator has no such mode).
    sampler: what `ganfactory generate MODEL OUT` runs for this operator's models, (env, model path) -> files
        written (None: not offered).
    sample_options: the options `ganfactory generate` offers for its models: only what generation reads (a
        subset of config's fields), so a training flag there is refused instead of ignored.
    sample_inputs: the files or folders `ganfactory generate` takes for its models (`--NAME PATH`), passed to
        the sampler as `env.inputs`.
    exporter: `ganfactory export RUN` (None: nothing to export).
    recognises: tells a format-1 checkpoint (no meta) of this operator from its operator state.
    """

    name: str
    summary: str
    config: type[RunOptions]
    inputs: InputKind
    plan: Callable[[RunEnv], TrainingPlan]
    generate: Generate
    predict: Predict | None = None
    sampler: Predict | None = None
    sample_options: type[OperatorConfig] | None = None
    sample_inputs: tuple[ExtraInput, ...] = ()
    exporter: Export | None = None
    recognises: Callable[[dict[str, Any]], bool] | None = None
    report: Callable[[RunResult], list[str]] | None = None  # lines the CLI prints after a run
    # Its own click command instead of the generated `NAME INPUTS... OUT` (e.g. a group of steps)
    command: Command | None = None
    # Further top-level commands of this operator (`ganfactory interpolate`, `stackgan-prepare`): each makes a
    # click command; use lazy() so listing them does not import their modules' heavy parts.
    commands: tuple[Command, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise TypeError(f"Operator name {self.name!r} must be lowercase letters, digits and dashes.")
        if not (isinstance(self.config, type) and issubclass(self.config, RunOptions)):
            raise TypeError(f"Operator '{self.name}': config must be a RunOptions subclass, not {self.config!r}.")
        if self.inputs not in INPUT_NAMES:
            raise TypeError(f"Operator '{self.name}': inputs must be one of {', '.join(INPUT_NAMES)}.")
        if self.sample_options is not None and set(self.sample_options.model_fields) - set(self.config.model_fields):
            raise TypeError(f"Operator '{self.name}': sample_options may only hold fields of its config.")
        for name in ("plan", "generate"):
            if not callable(getattr(self, name)):
                raise TypeError(f"Operator '{self.name}': {name} must be callable.")
        self._check_generation()
        if not all(callable(make) for make in self.commands):
            raise TypeError(f"Operator '{self.name}': commands must be a tuple of functions (spec -> command).")

    def _check_generation(self) -> None:
        """What `ganfactory generate` offers must be something the sampler can take."""
        if (self.sample_options is not None or self.sample_inputs) and self.sampler is None:
            raise TypeError(f"Operator '{self.name}': sample_options and sample_inputs need a sampler.")
        if not all(isinstance(extra, ExtraInput) for extra in self.sample_inputs):
            raise TypeError(f"Operator '{self.name}': sample_inputs must be ExtraInput objects.")
        taken = set(self.sample_options.model_fields) if self.sample_options else set()
        clash = [e.name for e in self.sample_inputs if e.name.replace("-", "_") in taken]
        if clash:
            raise TypeError(f"Operator '{self.name}': --{clash[0]} is both an extra input and a sample option.")

    @property
    def input_names(self) -> tuple[str, ...]:
        return INPUT_NAMES[self.inputs]


def checkpoint_meta(spec: OperatorSpec) -> dict[str, Any]:
    """The part of a checkpoint's "meta" the driver fills in (the loop adds the stage)."""
    return {"format": CHECKPOINT_FORMAT, "operator": spec.name}
