"""Writing a torch module as one self-contained .onnx file with metadata, and opening it with onnxruntime."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import torch

from ganfactory.errors import CheckpointError
from ganfactory.output.atomic import atomic_write

log = logging.getLogger(__name__)

OPSET = 17


def export_module(module: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, *, input_names: list[str],
                  output_names: list[str], dynamic_axes: dict[str, dict[int, str]], metadata: dict[str, Any]) -> Path:
    """Export through the TorchScript-based exporter (static graph, dynamic axes by name), then attach metadata."""
    import onnx

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python values are expected here
            torch.onnx.export(module.eval(), args, str(tmp), input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False, do_constant_folding=True)
        model = onnx.load(str(tmp))
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, json.dumps(value)
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))

    atomic_write(path, write)
    log.info("Exported %s (%.1f MB).", path, path.stat().st_size / 1e6)
    return path


def open_session(path: Path) -> tuple[Any, dict[str, Any]]:
    """An onnxruntime session on the CPU (or CUDA when available) and the model's metadata."""
    import onnxruntime as ort

    if not Path(path).is_file():
        raise CheckpointError(f"ONNX model {path} does not exist; create it with 'ganfactory export RUN'.")
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    try:
        session = ort.InferenceSession(str(path), providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for damaged files
        raise CheckpointError(f"{path} is not a valid ONNX model ({type(exc).__name__}); export it again.") from exc
    raw = session.get_modelmeta().custom_metadata_map
    return session, {key: json.loads(value) for key, value in raw.items()}
