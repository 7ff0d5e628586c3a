"""StyleGAN through the operator battery (tests/operator_battery.py): two classes of 12 images, 16 px, 15 steps
of 4 images with a checkpoint every 5 (three ticks)."""

from __future__ import annotations

import pytest

from operator_battery import BatteryCase, OperatorBattery

from .conftest import TINY_FLAGS


class TestBattery(OperatorBattery):
    @pytest.fixture(scope="class")
    @classmethod
    def battery_case(cls, two_classes) -> BatteryCase:
        return BatteryCase(operator="stylegan", inputs=(two_classes,),
                           flags=(*TINY_FLAGS, "--total-kimg", "0.06", "--tick-kimg", "0.02", "--generate-num", "2",
                                  "--precision", "fp32"))
