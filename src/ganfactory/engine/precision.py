"""Device and numeric precision, decided once per run: fp32, bf16 autocast, fp16 autocast with loss scaling.

The driver resolves `--device` and `--precision` into one `Precision` and passes it down to training,
generation and translation, so `auto` means the same thing everywhere (the demo included).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ganfactory.config import PRECISION_CHOICES
from ganfactory.errors import ConfigError

PRECISIONS = PRECISION_CHOICES  # what --precision accepts ("auto" and the resolved names)
# Set to 0/off/false/no to treat this CPU as one without native bf16 (`auto` then means fp32 and `bf16` is
# refused): runs the test suite, or a whole job, as it behaves on an AVX2-only CPU.
CPU_BF16_ENV = "GANFACTORY_CPU_BF16"
# The autocast dtype of each resolved name; fp32 runs without autocast.
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
assert set(_DTYPES) == set(PRECISIONS) - {"auto"}  # one list of names (ganfactory.config), every one resolvable


@dataclass(frozen=True)
class Precision:
    """A resolved precision on one device: what trainables and samplers compute in.

    name: "fp32", "bf16" or "fp16", the string manifests, stats, config.json and checkpoints record.
    device: where it runs; autocast and the grad scaler are for this device's type.
    Raises ConfigError for a name that is not one of those three ("auto" is resolved by `resolve_precision`).
    """

    name: str
    device: torch.device = torch.device("cpu")

    def __post_init__(self) -> None:
        if self.name not in _DTYPES:
            raise ConfigError(f"Unknown precision '{self.name}'; use one of {', '.join(PRECISIONS)}.")
        object.__setattr__(self, "device", torch.device(self.device))

    def __str__(self) -> str:
        return self.name

    @property
    def dtype(self) -> torch.dtype:
        """The autocast compute dtype (torch.float32 for fp32: no autocast)."""
        return _DTYPES[self.name]

    @property
    def reduced(self) -> bool:
        """True for bf16 and fp16: autocast runs the matmuls and convolutions in 16 bit."""
        return self.dtype != torch.float32

    @property
    def needs_grad_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 has fp32's range and does not need it."""
        return self.dtype == torch.float16

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context on this device (a no-op for fp32)."""
        if not self.reduced:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler that is active only for fp16 (elsewhere its calls pass the loss and step through)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.needs_grad_scaler)


# fp32 needs neither autocast nor a grad scaler, so one value serves every device.
FP32 = Precision("fp32")
# An exported .onnx runs its fp32 graph on onnxruntime's CPU provider, whatever the run's --precision.
EXPORTED = FP32


def precision_for_model(model: Path, precision: Precision) -> Precision:
    """What generation from `model` computes in: `precision` for a checkpoint, EXPORTED for an exported .onnx."""
    return EXPORTED if Path(model).suffix == ".onnx" else precision


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto.")
    return torch.device(device)


def cpu_bf16_disabled() -> bool:
    """True when the environment variable GANFACTORY_CPU_BF16 says to act as if the CPU lacked native bf16."""
    return os.environ.get(CPU_BF16_ENV, "").strip().lower() in {"0", "off", "false", "no"}


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 instructions (avx512_bf16 / AMX); elsewhere bf16 is emulated and slow.
    False also when GANFACTORY_CPU_BF16=0 (see `cpu_bf16_disabled`).

    oneDNN's own check (`torch.ops.mkldnn._is_mkldnn_bf16_supported`) also says yes on AVX-512 CPUs without
    avx512_bf16 (Skylake-X to Ice Lake), where it emulates bf16: a 3x3 conv ran at 34 GFLOP/s in bf16 against 144
    in fp32 on an Ice Lake Xeon, so `auto` must not pick it there: torch.cpu's avx512_bf16 and AMX checks decide."""
    if cpu_bf16_disabled():
        return False
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    try:
        return any(bool(check()) for check in checks if check is not None)
    except RuntimeError:
        return False


def native_bf16(device: torch.device) -> bool:
    """bf16 runs at full speed here: a CPU with avx512_bf16/AMX, or a CUDA GPU with bf16 tensor cores."""
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False))
    return device.type == "cpu" and cpu_supports_bf16()


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """`auto`: bf16 where the device has native bf16, else fp16 mixed precision on CUDA, else fp32."""
    if precision not in PRECISIONS:
        raise ConfigError(f"Unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}.")
    if precision == "auto":
        name = "bf16" if native_bf16(device) else "fp16" if device.type == "cuda" else "fp32"
        return Precision(name, device)
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("--precision fp16 needs a CUDA GPU; on the CPU use bf16 or fp32.")
    if precision == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
        reason = (f"{CPU_BF16_ENV} is set to off" if cpu_bf16_disabled()
                  else "this CPU has no native bf16 support (avx512_bf16/AMX), so bf16 would be slower")
        raise ConfigError(f"--precision bf16 is not available: {reason}; use --precision fp32.")
    return Precision(precision, device)
