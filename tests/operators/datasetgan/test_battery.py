"""DatasetGAN through the operator battery (tests/operator_battery.py): `datasetgan train OUT` on a copy of four
annotated samples of a tiny StyleGAN run, 3 epochs (a checkpoint each), then 4 generated pairs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from ganfactory.operators.datasetgan.layout import annotation_folder
from operator_battery import BatteryCase, OperatorBattery

from .conftest import TINY, script_masks

FLAGS = ("--members", str(TINY["members"]), "--epochs", "3", "--pixels-per-step", str(TINY["pixels_per_step"]),
         "--steps-per-image", str(TINY["steps_per_image"]), "--window", str(TINY["window"]), "--patience", "1000",
         "--num", "4", "--drop-uncertain", "0", "--device", "cpu")


class TestBattery(OperatorBattery):
    @pytest.fixture(scope="class")
    @classmethod
    def battery_case(cls, sampled: Path, tmp_path_factory: pytest.TempPathFactory) -> BatteryCase:
        template = tmp_path_factory.mktemp("annotated") / "out"
        shutil.copytree(sampled, template)
        folder = annotation_folder(template)
        folder.masks_dir.mkdir()
        for stem, mask in script_masks(folder.images_dir).items():
            Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
        return BatteryCase(operator="datasetgan", step="train", inputs=(), flags=FLAGS, template=template)
