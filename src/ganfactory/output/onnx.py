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

OPSET = 18


def export_module(module: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, *, input_names: list[str],
                  output_names: list[str], dynamic_axes: dict[str, tuple[int, ...]], metadata: dict[str, Any]) -> Path:
    """Export through torch.export (the dynamo exporter), with the named axes of each input dynamic,
    then attach metadata so that the file alone says how to use it."""
    import onnx

    dynamic_shapes = {name: {axis: torch.export.Dim.AUTO for axis in dynamic_axes.get(name, ())}
                      for name in input_names}

    # torch.onnx warns once per torchvision operator it cannot register when torchvision is absent (it is not a
    # dependency); those lines say nothing about this export, so only that registry logger is quietened.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module.eval(), args, input_names=input_names, output_names=output_names,
                                        dynamic_shapes=tuple(dynamic_shapes[name] for name in input_names),
                                        opset_version=OPSET, dynamo=True, external_data=False, verbose=False)
        assert program is not None  # dynamo=True returns the program
        model = program.model_proto
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
