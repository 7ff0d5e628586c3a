"""StackGANArchitecture: one record builds a stage's generator and discriminator; records written before D was
built from it (no df) or before standardised embeddings upgrade in one place; unknown keys are ignored."""

from __future__ import annotations

import pytest

from ganfactory.operators.stackgan.architecture import StackGANArchitecture

from .conftest import tiny_config


def test_old_records_upgrade_and_both_networks_come_from_one_record() -> None:
    arch = StackGANArchitecture.from_config(tiny_config(df=6), stage="stage2", embedding_dim=12, encoder="e")
    assert StackGANArchitecture.from_dict({**arch.to_dict(), "added_later": 0}) == arch
    older = {key: value for key, value in arch.to_dict().items() if key not in ("df", "standardise_embeddings")}
    checkpoint = {"meta": {"architecture": older}, "operator": {"config": {"df": 6}}}
    upgraded = StackGANArchitecture.from_checkpoint(checkpoint)
    assert upgraded is not None and upgraded.df == 6 and upgraded.standardise_embeddings is False
    assert StackGANArchitecture.from_checkpoint({"meta": {"architecture": {"size": 8}}}) is None
    D1 = StackGANArchitecture.from_dict({**arch.to_dict(), "stage": "stage1"}).discriminator()
    assert arch.size == 32 and arch.discriminator().uncond_head is not None and D1.uncond_head is None
    assert arch.stage2_generator() is not None
    with pytest.raises(ValueError, match="stage 'stage3'"):
        StackGANArchitecture.from_dict({**arch.to_dict(), "stage": "stage3"})
