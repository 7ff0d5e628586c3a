"""Which operator made a model (run folder, checkpoint or .onnx), so a command meant for another operator's
models answers with one sentence instead of failing inside the loader.

The caller names the operators it knows (`ganfactory generate` passes the registry's; an operator's own command
passes its spec), so this module stays below the registry instead of importing it back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ganfactory.engine.contract import OperatorSpec
from ganfactory.errors import CheckpointError


def model_operator(model: Path, known: Iterable[OperatorSpec] = ()) -> str | None:
    """The operator name a model file records, or (an old checkpoint that records none) the name of the spec
    in `known` that recognises it; None when neither says.

    Raises CheckpointError for a missing model or a damaged .onnx."""
    from ganfactory.engine.checkpoint import load_checkpoint, resolve_checkpoint_path

    path = resolve_checkpoint_path(Path(model))
    if path.suffix == ".onnx":
        import onnx

        try:
            props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        except Exception as exc:  # onnx raises its own types for damaged files
            raise CheckpointError(f"{path} is not a valid ONNX model ({type(exc).__name__}); export it again.") from exc
        return json.loads(props["operator"]) if "operator" in props else None
    return checkpoint_operator_name(load_checkpoint(path), known)


def checkpoint_operator_name(state: dict[str, Any], known: Iterable[OperatorSpec] = ()) -> str | None:
    """The operator that wrote a loaded checkpoint: its meta or operator state, else a spec in `known` whose
    `recognises` accepts its operator state (format-1 files); None when nothing says."""
    from ganfactory.engine.checkpoint import checkpoint_operator

    name = checkpoint_operator(state)
    inner = state.get("operator")
    if name is None and isinstance(inner, dict):
        name = next((s.name for s in known if s.recognises is not None and s.recognises(inner)), None)
    return name


def require_model_of(model: Path, spec: OperatorSpec, *, hint: str) -> None:
    """Raise CheckpointError (one sentence) unless `model` was made by `spec`'s operator."""
    found = model_operator(model, (spec,))
    if found != spec.name:
        whose = f"a {found} model" if found else "not a model ganfactory recognises"
        raise CheckpointError(f"{model} is {whose}; 'ganfactory {hint}' needs a {spec.name} run folder, "
                              "checkpoint or .onnx.")
