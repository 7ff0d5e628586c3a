"""Which operator made a model (run folder, checkpoint or .onnx), so a command meant for another operator's
models answers with one sentence instead of failing inside the loader."""

from __future__ import annotations

import json
from pathlib import Path

from ganfactory.engine.contract import OperatorSpec
from ganfactory.errors import CheckpointError


def model_operator(model: Path) -> str | None:
    """The operator name a model file records (None when it records none)."""
    from ganfactory.engine.checkpoint import load_checkpoint, resolve_checkpoint_path
    from ganfactory.operators.registry import operator_of_checkpoint

    path = resolve_checkpoint_path(Path(model))
    if path.suffix == ".onnx":
        import onnx

        try:
            props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        except Exception as exc:  # onnx raises its own types for damaged files
            raise CheckpointError(f"{path} is not a valid ONNX model ({type(exc).__name__}); export it again.") from exc
        return json.loads(props["operator"]) if "operator" in props else None
    spec = operator_of_checkpoint(load_checkpoint(path))
    return spec.name if spec else None


def require_model_of(model: Path, spec: OperatorSpec, *, hint: str) -> None:
    """Raise CheckpointError (one sentence) unless `model` was made by `spec`'s operator."""
    found = model_operator(model)
    if found != spec.name:
        whose = f"a {found} model" if found else "not a model ganfactory recognises"
        raise CheckpointError(f"{model} is {whose}; 'ganfactory {hint}' needs a {spec.name} run folder, "
                              "checkpoint or .onnx.")
