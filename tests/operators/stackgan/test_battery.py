"""StackGAN through the operator battery (tests/operator_battery.py): the prepared captioned folder, 16 px stage I
and 32 px stage II, 3 + 2 epochs of one step with a checkpoint each; stage II keeps stage I's generator as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from operator_battery import BatteryCase, OperatorBattery

FLAGS = ("--stage1-resolution", "16", "--resolution", "32", "--gf", "4", "--df", "4", "--z-dim", "8",
         "--condition-dim", "8", "--res-blocks", "1", "--batch-size", "2", "--stage1-epochs", "3",
         "--stage2-epochs", "2", "--tick-epochs", "1", "--generate-num", "1", "--sample-captions", "4",
         "--device", "cpu", "--precision", "fp32")


class TestBattery(OperatorBattery):
    @pytest.fixture(scope="class")
    @classmethod
    def battery_case(cls, prepared: Path) -> BatteryCase:
        return BatteryCase(operator="stackgan", inputs=(prepared,), flags=FLAGS, frozen=frozenset({"G1"}))
