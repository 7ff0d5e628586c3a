"""Old checkpoints load: the format-2 files main wrote before the typed architectures (tests/fixtures/format2,
made by its make_fixtures.py) still rebuild their networks, which give exactly the outputs recorded then."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "format2"
sys.path.insert(0, str(FIXTURES))
from probe import PROBES  # noqa: E402  (a plain folder beside the tests, shared with make_fixtures.py)


@pytest.fixture(scope="module")
def expected() -> dict[str, torch.Tensor]:
    return torch.load(FIXTURES / "expected.pt", weights_only=True)


@pytest.mark.parametrize("operator", sorted(PROBES))
def test_a_format2_checkpoint_samples_as_when_it_was_written(operator: str, expected) -> None:
    path = FIXTURES / f"{operator}.pt"
    meta = torch.load(path, map_location="cpu", weights_only=True)["meta"]
    assert (meta["format"], meta["operator"]) == (2, operator)
    torch.set_num_threads(1)
    output = PROBES[operator](path)
    assert torch.isfinite(output).all()
    assert torch.equal(output, expected[operator])
