"""Platform parts on their own: the resolved precision, the contract's type checks, the registry, and the loop
with a trainable that stops early and draws no samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from ganfactory.config import OperatorConfig, RunOptions
from ganfactory.engine.checkpoint import list_checkpoints
from ganfactory.engine.contract import OperatorSpec, lazy
from ganfactory.engine.loop import Schedule, Trainable, train
from ganfactory.engine.precision import (
    CPU_BF16_ENV,
    EXPORTED,
    FP32,
    Precision,
    cpu_supports_bf16,
    native_bf16,
    precision_for_model,
    resolve_precision,
)
from ganfactory.errors import ConfigError
from ganfactory.operators import registry
from ganfactory.output.layout import RunFolder


@pytest.mark.precision
def test_auto_precision_is_native_bf16_else_fp16_on_cuda_else_fp32() -> None:
    cpu = torch.device("cpu")
    precision = resolve_precision("auto", cpu)
    assert precision.name == ("bf16" if native_bf16(cpu) else "fp32") and precision.device == cpu
    fp32 = resolve_precision("fp32", cpu)
    assert isinstance(fp32, Precision) and fp32.dtype is torch.float32 and not fp32.grad_scaler().is_enabled()
    assert fp32 == FP32 and not fp32.reduced and str(fp32) == "fp32"
    with fp32.autocast():  # fp32 runs without autocast
        assert not torch.is_autocast_enabled("cpu")
    with pytest.raises(ConfigError, match="Unknown precision 'auto'"):
        Precision("auto", cpu)
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        resolve_precision("fp16", cpu)


@pytest.mark.precision
def test_cpu_bf16_off_makes_auto_fp32_and_refuses_bf16(monkeypatch) -> None:
    """GANFACTORY_CPU_BF16=0 makes any CPU behave as one without native bf16 (how CI covers both CPU kinds)."""
    cpu = torch.device("cpu")
    monkeypatch.setenv(CPU_BF16_ENV, "0")
    assert not cpu_supports_bf16() and resolve_precision("auto", cpu) == FP32
    with pytest.raises(ConfigError, match="GANFACTORY_CPU_BF16 is set to off; use --precision fp32"):
        resolve_precision("bf16", cpu)
    monkeypatch.setenv(CPU_BF16_ENV, "1")  # any other value leaves the CPU's own answer
    assert resolve_precision("auto", cpu).name == ("bf16" if native_bf16(cpu) else "fp32")


@pytest.mark.precision
def test_bf16_autocasts_and_an_export_computes_in_fp32_whatever_the_run() -> None:
    bf16 = Precision("bf16", torch.device("cpu"))
    with bf16.autocast():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") is torch.bfloat16
    assert bf16.reduced and not bf16.needs_grad_scaler
    assert precision_for_model(Path("g.onnx"), bf16) is EXPORTED and EXPORTED.name == "fp32"
    assert precision_for_model(Path("model/network-000010.pt"), bf16) is bf16


def test_a_spec_is_checked_when_made_and_when_registered() -> None:
    parts: dict[str, Any] = dict(summary="s", config=RunOptions, inputs="folder", plan=lambda env: None,
                                 generate=lambda env, trainables, provenance: 0)
    with pytest.raises(TypeError, match="lowercase"):
        OperatorSpec(name="Bad_Name", **parts)
    with pytest.raises(TypeError, match="RunOptions subclass"):
        OperatorSpec(name="x", **{**parts, "config": OperatorConfig})
    with pytest.raises(TypeError, match="inputs must be"):
        OperatorSpec(name="x", **{**parts, "inputs": "three_folders"})
    with pytest.raises(TypeError, match="Only an OperatorSpec"):
        registry.register_operator("stylegan")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Two operators are named 'stylegan'"):
        registry.register_operator(OperatorSpec(name="stylegan", **parts))
    with pytest.raises(ConfigError,
                       match="Unknown operator 'stylegann'; known: cyclegan, datasetgan, stackgan, stylegan"):
        registry.get_operator("stylegann")
    with pytest.raises(TypeError, match="there is no module 'ganfactory.no_such_module'; fix the spelling"):
        lazy("ganfactory.no_such_module:plan")  # checked when the spec is made, not when the path first runs


class _EarlyStopper(Trainable):
    """Not a GAN and no samples: a counter that stops early once its 'validation loss' stops improving."""

    unit = "epoch"

    def __init__(self) -> None:
        self._steps, self._stopped = 0, False

    @property
    def total(self) -> float:
        return 100.0

    @property
    def stopped_early(self) -> bool:
        return self._stopped

    @property
    def done(self) -> float:
        return float(self._steps)

    @property
    def steps(self) -> int:
        return self._steps

    def train_step(self) -> dict[str, float]:
        self._steps += 1
        self._stopped = self._steps >= 7
        return {"val_loss": max(1.0 - 0.1 * self._steps, 0.4)}

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self._steps, "stopped_early": self.stopped_early}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._steps, self._stopped = int(state["steps"]), bool(state["stopped_early"])


def test_the_loop_ends_on_an_early_stop_and_needs_no_samples(tmp_path: Path) -> None:
    run = RunFolder(tmp_path).create()
    trainable = _EarlyStopper()
    train(trainable, run=run, schedule=Schedule(tick_units=5, keep_checkpoints=1), progress_bar=False,
          stage="classifier")
    assert trainable.steps == 7 and not list(run.samples_dir.iterdir())
    assert [p.name for p in list_checkpoints(run.model_dir / "classifier")] == ["ckpt-000000007.pt"]
    again = _EarlyStopper()
    train(again, run=run, schedule=Schedule(tick_units=5), progress_bar=False, stage="classifier")
    assert again.steps == 7  # resumed as finished: no further step
    progress = json.loads((run.logs_dir / "progress.json").read_text())
    assert progress["stage"] == "classifier" and progress["done"] == 7


@pytest.mark.precision
def test_native_bf16_means_avx512_bf16_or_amx_not_plain_avx512(monkeypatch) -> None:
    """oneDNN also 'supports' bf16 on plain AVX-512, by emulation at about half the fp32 speed: not native."""
    monkeypatch.delenv(CPU_BF16_ENV, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not cpu_supports_bf16() and resolve_precision("auto", torch.device("cpu")).name == "fp32"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)  # Sapphire Rapids and later
    assert cpu_supports_bf16() and resolve_precision("auto", torch.device("cpu")).name == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)  # Cooper Lake, Zen 4
    assert cpu_supports_bf16()
