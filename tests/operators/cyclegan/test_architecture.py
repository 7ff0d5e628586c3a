"""CycleGANArchitecture: files keep the keys they always had, older records upgrade in one place, unknown keys are
ignored; generators and discriminators are built from the same record."""

from __future__ import annotations

from ganfactory.operators.cyclegan.architecture import CycleGANArchitecture
from ganfactory.operators.cyclegan.hparams import CycleGANTraining

from .conftest import tiny_config


def test_the_record_keeps_its_keys_and_older_records_upgrade() -> None:
    arch = CycleGANArchitecture.from_config(tiny_config())
    assert arch.to_dict() == {"channels": 3, "base_channels": 4, "n_blocks": 1, "height": 16, "width": 32,
                              "input_skip": True, "skip_mode": "lerp"}  # no mode: CycleGAN's own
    assert "skip_mode" not in CycleGANArchitecture.from_config(tiny_config(input_skip=False)).to_dict()
    assert CycleGANArchitecture.from_config(tiny_config(mode="cut")).to_dict()["mode"] == "cut"
    assert CycleGANArchitecture.from_dict({**arch.to_dict(), "added_later": True}) == arch
    before_skip = {"channels": 3, "base_channels": 4, "n_blocks": 1, "height": 16, "width": 32}
    assert CycleGANArchitecture.from_dict(before_skip).input_skip is False
    before_lerp = {**before_skip, "input_skip": True}
    assert CycleGANArchitecture.from_dict(before_lerp).skip_mode == "tanh"


def test_training_builds_its_networks_from_the_recorded_architecture() -> None:
    hparams = CycleGANTraining.from_config(tiny_config(image_height=32, image_width=32))
    G, D = hparams.architecture.generator(), hparams.architecture.discriminator()
    assert G.input_skip and (hparams.image_height, hparams.image_width) == (32, 32)
    assert sum(p.numel() for p in D.parameters()) > 0
