"""Loading a feature network: the shipped Inception, or a user's TorchScript or ONNX file, on a chosen path.

Paths (`backend`): `torch` (fp32, the reference), `torch-channels-last` (fp32, NHWC memory layout, which
oneDNN's convolutions often prefer), `torch-bf16` (bf16 autocast, only where the CPU has native bf16; elsewhere
it is refused because emulated bf16 is slower and less exact), `onnxruntime` (ONNX files, and the shipped
Inception exported once) and `auto` (see resolve_backend; what `evaluate` uses by default).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from ganfactory.engine.checkpoint import file_sha256
from ganfactory.engine.precision import cpu_supports_bf16
from ganfactory.errors import InputError
from ganfactory.metrics.cache import default_cache_dir
from ganfactory.metrics.network import (
    INCEPTION_NAME,
    INCEPTION_SHA256,
    TORCHSCRIPT_SUFFIXES,
    FeatureNetwork,
    NetworkIdentity,
    find_inception_file,
)
from ganfactory.output.atomic import atomic_write

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "torch-channels-last", "torch-bf16", "onnxruntime")
INCEPTION_RANGE = (-1.0, 0.9921875)
USER_RANGE = (-1.0, 1.0)
DEFAULT_SIZE = 299


def load_feature_network(path: Path | None = None, *, backend: str = "torch", input_size: int | None = None,
                         batch_size: int = 32) -> FeatureNetwork:
    """The shipped Inception (path None) or a user's network file (.onnx, or TorchScript .pt/.pth/.ts).

    input_size: side length fed to the network (None: 299 for the Inception, the ONNX graph's declared size,
    else 299). Raises InputError for a missing or unreadable file, an unknown suffix or an unusable backend.
    """
    if backend not in BACKENDS:
        raise InputError(f"Unknown feature backend '{backend}'; use one of {', '.join(BACKENDS)}.")
    backend = resolve_backend(backend, inception=path is None,
                              onnx=path is not None and Path(path).suffix.lower() == ".onnx")
    if path is None and backend == "onnxruntime":
        return _cached_inception_onnx(batch_size=batch_size)
    if path is None:
        return _torchscript(find_inception_file(), name=INCEPTION_NAME, value_range=INCEPTION_RANGE,
                            size=input_size or DEFAULT_SIZE, backend=backend, batch_size=batch_size,
                            sha256=INCEPTION_SHA256)  # find_inception_file checked it
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"The feature network {path} does not exist; pass an existing TorchScript (.pt) or ONNX "
                         "(.onnx) file to --features.")
    if path.suffix.lower() == ".onnx":
        return _onnx(path, size=input_size, backend=backend, batch_size=batch_size)
    if path.suffix.lower() in TORCHSCRIPT_SUFFIXES:
        return _torchscript(path, name=path.name, value_range=USER_RANGE, size=input_size or DEFAULT_SIZE,
                            backend=backend, batch_size=batch_size)
    raise InputError(f"The feature network {path} has the suffix '{path.suffix}'; --features takes a TorchScript "
                     f"file ({', '.join(TORCHSCRIPT_SUFFIXES)}) or an ONNX file (.onnx).")


def resolve_backend(backend: str, *, inception: bool = False, onnx: bool = False) -> str:
    """`auto` -> `torch-bf16` where the CPU has native bf16 (GANFACTORY_CPU_BF16=0 says it has not), else the
    fastest fp32 path: `onnxruntime` for the shipped Inception (exported to ONNX once, 2.0-2.5x torch fp32 in
    benchmarks/metrics_speed.py) and for an ONNX file, `torch-channels-last` for a TorchScript file (oneDNN's
    NHWC convolutions, 1.1-1.5x NCHW). Other names are returned as given."""
    if backend != "auto":
        return backend
    if onnx:
        return "onnxruntime"
    if cpu_supports_bf16():
        return "torch-bf16"
    return "onnxruntime" if inception else "torch-channels-last"


def _torchscript(path: Path, *, name: str, value_range: tuple[float, float], size: int, backend: str,
                 batch_size: int, sha256: str | None = None) -> FeatureNetwork:
    if backend == "onnxruntime":
        raise InputError(f"The onnxruntime backend needs an ONNX file; {path.name} is TorchScript (export it to "
                         "ONNX or use --feature-backend torch).")
    if backend == "torch-bf16" and not cpu_supports_bf16():
        raise InputError("This CPU has no native bf16 (avx512_bf16/AMX), where bf16 is emulated and slower; "
                         "use --feature-backend torch.")
    try:
        with warnings.catch_warnings():  # torch 2.x marks jit.load deprecated; TorchScript is the file format here
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputError(f"The feature network {path} is not a loadable TorchScript file "
                         f"({str(exc).splitlines()[0][:120]}); save it with torch.jit.save.") from None
    channels_last = backend == "torch-channels-last"
    if channels_last:
        module = module.to(memory_format=torch.channels_last)

    def run(batch: torch.Tensor) -> torch.Tensor:
        if backend == "torch-bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return module(batch).float()
        return module(batch)

    identity = NetworkIdentity(name=name, sha256=sha256 or file_sha256(path), input_size=size,
                               input_range=value_range, backend=backend,
                               precision="bf16" if backend == "torch-bf16" else "fp32")
    return FeatureNetwork(run=run, identity=identity, batch_size=batch_size, channels_last=channels_last)


def _onnx(path: Path, *, size: int | None, backend: str, batch_size: int, name: str | None = None,
          value_range: tuple[float, float] = USER_RANGE) -> FeatureNetwork:
    if backend != "onnxruntime" and backend != "torch":
        raise InputError(f"An ONNX network runs on onnxruntime; --feature-backend {backend} applies to TorchScript.")
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same thread budget as the torch paths
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
        raise InputError(f"The feature network {path} is not a loadable ONNX file ({str(exc).splitlines()[0][:120]})"
                         "; export it with torch.onnx.export.") from None
    inputs = session.get_inputs()
    declared = inputs[0].shape[-1] if len(inputs) == 1 and len(inputs[0].shape) == 4 else None
    side = size or (declared if isinstance(declared, int) else DEFAULT_SIZE)
    input_name = inputs[0].name

    def run(batch: torch.Tensor) -> torch.Tensor:
        (output, *_) = session.run(None, {input_name: np.ascontiguousarray(batch.numpy(), dtype=np.float32)})
        return torch.from_numpy(np.asarray(output))

    identity = NetworkIdentity(name=name or path.name, sha256=file_sha256(path), input_size=int(side),
                               input_range=value_range, backend="onnxruntime")
    return FeatureNetwork(run=run, identity=identity, batch_size=batch_size)


def export_inception_onnx(out: Path) -> Path:
    """Write the shipped Inception as ONNX (fixed 299x299, dynamic batch) for the onnxruntime path; returns out."""
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notices are not the user's concern
        warnings.simplefilter("ignore")
        return _export(torch.jit.load(str(find_inception_file()), map_location="cpu").eval(), out)


def _export(module: torch.nn.Module, out: Path) -> Path:
    example = torch.zeros(1, 3, DEFAULT_SIZE, DEFAULT_SIZE)
    torch.onnx.export(module, (example,), str(out), input_names=["images"], output_names=["features"],
                      dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}}, dynamo=False)
    return out


def _cached_inception_onnx(*, batch_size: int) -> FeatureNetwork:
    """The shipped Inception on onnxruntime (about 2x torch fp32 on an AVX2 CPU, see benchmarks/metrics_speed.py).

    Exported once to `<home>/cache/networks/` (atomically; ~5 s, 87 MB) and recorded under the .pt file's hash,
    since it is the same network (features agree to ~1e-5).
    """
    find_inception_file()  # present and unchanged: its sha256 is INCEPTION_SHA256
    sha = INCEPTION_SHA256
    target = default_cache_dir().parent / "networks" / f"inception-{sha[:16]}.onnx"
    if not target.is_file():
        log.info("Exporting the Inception to ONNX once, for onnxruntime: %s", target)
        atomic_write(target, export_inception_onnx)
    network = load_inception_onnx(target, batch_size=batch_size)
    network.identity = NetworkIdentity(name=INCEPTION_NAME, sha256=sha, input_size=DEFAULT_SIZE,
                                       input_range=INCEPTION_RANGE, backend="onnxruntime")
    return network


def load_inception_onnx(path: Path, *, batch_size: int = 32) -> FeatureNetwork:
    """The Inception written by export_inception_onnx, run by onnxruntime with the Inception's input range."""
    return _onnx(path, size=DEFAULT_SIZE, backend="onnxruntime", batch_size=batch_size,
                 name=INCEPTION_NAME + " as ONNX", value_range=INCEPTION_RANGE)
