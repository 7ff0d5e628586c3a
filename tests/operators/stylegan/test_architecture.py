"""StyleGANArchitecture: the checkpoint's record round-trips, tolerates keys it does not know and upgrades older
records in one place; G and D are built from it."""

from __future__ import annotations

from ganfactory.operators.stylegan.architecture import StyleGANArchitecture
from ganfactory.operators.stylegan.models import generator_architecture, preset_for

from .conftest import tiny_config


def test_the_record_round_trips_and_an_old_or_newer_one_still_reads() -> None:
    arch = generator_architecture(preset_for(tiny_config()), img_channels=3, num_classes=2)
    record = arch.to_dict()
    assert record["conv_clamp"] is None or isinstance(record["conv_clamp"], float)
    assert StyleGANArchitecture.from_dict(record) == arch
    assert StyleGANArchitecture.from_dict({**record, "added_later": 1}) == arch  # a newer file's extra key
    older = {key: value for key, value in record.items() if key != "conditioning"}  # before transitional
    assert StyleGANArchitecture.from_dict(older).conditioning == "concat"
    assert StyleGANArchitecture.from_checkpoint({"operator": {}}) is None  # format 1 records nothing
    assert StyleGANArchitecture.from_checkpoint({"meta": {"architecture": record}}) == arch


def test_generator_and_discriminator_come_from_the_same_record() -> None:
    arch = generator_architecture(preset_for(tiny_config()), img_channels=1, num_classes=2)
    G, D = arch.generator(), arch.discriminator(residual=True)
    assert (G.resolution, G.num_classes, G.img_channels) == (D.resolution, D.num_classes, D.img_channels) == (16, 2, 1)
