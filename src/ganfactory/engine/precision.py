"""Device and numeric precision, decided once per run: fp32, bf16 autocast, fp16 autocast with loss scaling.

The driver resolves `--device` and `--precision` into one `Precision` and passes it down to training,
generation and translation, so `auto` means the same thing everywhere (the demo included).
"""

from __future__ import annotations

import contextlib
import os

import torch

from ganfactory.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Set to 0/off/false/no to treat this CPU as one without native bf16 (`auto` then means fp32 and `bf16` is
# refused): runs the test suite, or a whole job, as it behaves on an AVX2-only CPU.
CPU_BF16_ENV = "GANFACTORY_CPU_BF16"
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision(str):
    """A resolved precision: compares equal to its name ("fp32", "bf16", "fp16") and carries the device,
    the autocast dtype and whether gradients need loss scaling. Being a `str` keeps code that stores or
    prints the name (config.json, checkpoints, the trainables' `precision` argument) unchanged."""

    device: torch.device

    def __new__(cls, name: str, device: torch.device) -> Precision:
        if name not in _DTYPES:
            raise ConfigError(f"Unknown precision '{name}'; use one of {', '.join(PRECISIONS)}.")
        value = super().__new__(cls, name)
        value.device = torch.device(device)
        return value

    def __reduce__(self) -> tuple:  # pickles (and deep-copies) as the plain name plus the device
        return (Precision, (str(self), str(self.device)))

    @property
    def dtype(self) -> torch.dtype:
        """The autocast compute dtype (torch.float32 for fp32: no autocast)."""
        return _DTYPES[str(self)]

    @property
    def needs_grad_scaler(self) -> bool:
        return needs_grad_scaler(self)

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device, self)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler that is active only for fp16."""
        return torch.amp.GradScaler(self.device.type, enabled=self.needs_grad_scaler)


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


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def needs_grad_scaler(precision: str) -> bool:
    """fp16 gradients underflow without loss scaling; bf16 has fp32's range and does not need it."""
    return precision == "fp16"
