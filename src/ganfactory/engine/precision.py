"""Device and numeric precision: fp32, bf16 autocast (CPUs with bf16 support, CUDA), fp16 autocast (CUDA)."""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from ganfactory.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto.")
    return torch.device(device)


def cpu_supports_bf16() -> bool:
    """True where oneDNN has native bf16 kernels (avx512_bf16 / AMX); elsewhere bf16 is emulated and slow."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto`: fp16 mixed precision on CUDA, fp32 on the CPU (bf16 there is opt-in)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"Unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}.")
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("--precision fp16 needs a CUDA GPU; on the CPU use bf16 or fp32.")
    if precision == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
        raise ConfigError("This CPU has no native bf16 support (avx512_bf16/AMX), so bf16 would be slower; "
                          "use --precision fp32.")
    return precision


def autocast(device: torch.device, precision: str) -> ContextManager:
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def needs_grad_scaler(precision: str) -> bool:
    """fp16 gradients underflow without loss scaling; bf16 has fp32's range and does not need it."""
    return precision == "fp16"
