"""CycleGAN through the operator battery (tests/operator_battery.py), in each of its modes (cyclegan, cut,
fastcut): 16x32 px, 3 epochs of 2 steps with a checkpoint each, a pool of 2 so its random swaps run too."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from ganfactory.operators.cyclegan.config import CycleGANConfig
from operator_battery import BatteryCase, Interrupted, OperatorBattery

from .conftest import TINY_FLAGS

MODES = get_args(CycleGANConfig.model_fields["mode"].annotation)


def _flags(mode: str) -> tuple[str, ...]:
    flags = list(TINY_FLAGS)
    flags[flags.index("--max-epoch") + 1] = "3"  # three checkpoints, one per epoch
    pool = ("--pool-size", "2") if mode == "cyclegan" else ()
    return (*flags, "--mode", mode, *pool, "--precision", "fp32")


class TestBattery(OperatorBattery):
    @pytest.fixture(scope="class", params=MODES)
    @classmethod
    def battery_case(cls, request, domains) -> BatteryCase:
        return BatteryCase(operator="cyclegan", inputs=domains, flags=_flags(request.param))

    # Weights, optimisers, pool, sampler and counters match bitwise; the global torch generator's state in the
    # last checkpoint does not (every mode, found by this battery; the hand-written resume tests compared the
    # networks only and stay until this is fixed).
    @pytest.mark.subprocess
    @pytest.mark.xfail(strict=True, reason="CycleGAN: the global torch RNG state after a resume differs from an "
                       "uninterrupted run's")
    def test_the_rerun_equals_an_uninterrupted_run(self, interrupted: Interrupted, uninterrupted: Path) -> None:
        super().test_the_rerun_equals_an_uninterrupted_run(interrupted, uninterrupted)
