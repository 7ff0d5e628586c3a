"""--precision for StackGAN: the resolved precision is recorded in config.json and the manifest, the steps of
both stages run under its autocast (bf16 here: the discriminator's convolutions compute in bf16) with finite
losses, and the weights stay fp32."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from tests.run_outputs import manifest_lines

from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint
from ganfactory.operators.stackgan.operator import run_stackgan
from ganfactory.operators.stackgan.training import StackGANStage

from .conftest import tiny_config


@pytest.mark.parametrize("asked, native, resolved, dtype", [
    ("auto", False, "fp32", torch.float32),  # this CPU (no avx512_bf16): auto is fp32
    ("bf16", True, "bf16", torch.bfloat16),  # a CPU with native bf16 (pretended here; emulated, slow but right)
])
def test_precision_is_applied_and_recorded(prepared: Path, tmp_path: Path, monkeypatch, asked: str, native: bool,
                                           resolved: str, dtype: torch.dtype) -> None:
    monkeypatch.setattr("ganfactory.engine.precision.cpu_supports_bf16", lambda: native)
    seen: dict[str, set[torch.dtype]] = {}
    losses: list[float] = []
    train_step = StackGANStage.train_step

    def watched(self: StackGANStage) -> dict[str, float]:
        hook = self.D.features[0].register_forward_hook(
            lambda module, args, output: seen.setdefault(self.stage, set()).add(output.dtype))
        try:
            values = train_step(self)
        finally:
            hook.remove()
        losses.extend(v for k, v in values.items() if k.startswith("loss/"))
        return values

    monkeypatch.setattr(StackGANStage, "train_step", watched)
    out = tmp_path / "run"
    run_stackgan(prepared, out, tiny_config(precision=asked, stage1_epochs=2, stage2_epochs=1, generate_num=1),
                 progress_bar=False)
    assert json.loads((out / "config.json").read_text())["resolved"]["precision"] == resolved
    assert seen == {"stage1": {dtype}, "stage2": {dtype}}
    assert len(losses) > 10 and all(math.isfinite(v) for v in losses)
    state = load_checkpoint(list_checkpoints(out / "model" / "stage2")[0])["operator"]
    for net in ("G", "D", "G1"):
        floats = [t for t in state[net].values() if t.dtype.is_floating_point]
        assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in floats), net
    lines = manifest_lines(out)
    assert len(lines) == 5 and {line["precision"] for line in lines} == {resolved}
