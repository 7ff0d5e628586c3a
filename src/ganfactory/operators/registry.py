"""The operators ganfactory knows: one typed list of built-in specs plus plugins registered under the
`ganfactory.operators` entry-point group. A wrong entry is an error at import, never silently skipped."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ganfactory.engine.contract import OperatorSpec
from ganfactory.errors import ConfigError
from ganfactory.operators.cyclegan.spec import CYCLEGAN
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.operators.stackgan.spec import STACKGAN
from ganfactory.operators.stylegan.spec import STYLEGAN

BUILTIN: tuple[OperatorSpec, ...] = (STYLEGAN, CYCLEGAN, DATASETGAN, STACKGAN)
ENTRY_POINT_GROUP = "ganfactory.operators"  # a plugin: `toy = "toy_package.spec:TOY"` in its pyproject

_registered: dict[str, OperatorSpec] = {}


def register_operator(spec: OperatorSpec) -> OperatorSpec:
    """Add an operator in this process, after the built-ins and entry points (so a clash with one of them is
    caught whenever it is registered); returns it.

    Raises TypeError for something that is not an OperatorSpec or a name already taken by another spec."""
    _load()
    return _add(spec)


def _add(spec: OperatorSpec) -> OperatorSpec:
    if not isinstance(spec, OperatorSpec):
        raise TypeError(f"Only an OperatorSpec can be registered as an operator, not {type(spec).__name__}.")
    known = _registered.get(spec.name)
    if known is not None and known is not spec:
        raise TypeError(f"Two operators are named '{spec.name}'; rename one.")
    _registered[spec.name] = spec
    return spec


def _load() -> dict[str, OperatorSpec]:
    if not _registered:
        for spec in BUILTIN:
            _add(spec)
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            _add(entry.load())  # a broken plugin raises here, with its own traceback
    return _registered


def all_operators() -> list[OperatorSpec]:
    return list(_load().values())


def get_operator(name: str) -> OperatorSpec:
    """The spec of `ganfactory NAME`; ConfigError (one sentence) for an unknown name."""
    found = _load().get(name)
    if found is None:
        raise ConfigError(f"Unknown operator '{name}'; known: {', '.join(sorted(_load()))}.")
    return found


def operator_of_checkpoint(state: dict[str, Any]) -> OperatorSpec | None:
    """The operator that wrote a checkpoint (its meta, its operator state, or a spec recognising an old file)."""
    from ganfactory.operators.model_identity import checkpoint_operator_name

    name = checkpoint_operator_name(state, _load().values())
    return _load().get(name) if name is not None else None
