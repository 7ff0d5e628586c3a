"""The structure check after translation (issue 24, item 3): edge agreement and SSIM between each source and its
translation, KID of translations and sources to TARGET, written by `--structure-report`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganfactory.operators.cyclegan.operator import run_cyclegan
from ganfactory.operators.cyclegan.structure import edge_agreement, ssim

from .conftest import tiny_config

pytestmark = pytest.mark.usefixtures("single_thread")


def _glyphs(seed: int, count: int = 4) -> torch.Tensor:
    """uint8 [count, 3, 24, 24]: a dark bar at a random place on white."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.full((count, 3, 24, 24), 255, dtype=torch.uint8)
    for index in range(count):
        top, left = (int(v) for v in torch.randint(2, 14, (2,), generator=generator))
        images[index, :, top:top + 8, left:left + 3] = 30
    return images


def test_same_structure_in_another_style_keeps_edge_agreement_and_other_pictures_do_not():
    source = _glyphs(0)
    recoloured = source.clone()
    recoloured[:, 0][source[:, 0] < 128] = 200  # the same bars in another ink colour
    assert np.allclose(edge_agreement(source, source), 1) and np.allclose(ssim(source, source), 1)
    assert (edge_agreement(source, recoloured) > 0.99).all()
    assert (edge_agreement(source, _glyphs(1)) < 0.5).all() and (ssim(source, _glyphs(1)) < 0.9).all()
    blank = torch.full_like(source, 255)
    assert (edge_agreement(source, blank) == 0).all()  # a translation that lost everything scores 0


def test_the_run_writes_the_structure_report(domains, tmp_path):
    result = run_cyclegan(*domains, tmp_path / "run", tiny_config(mode="cut", max_epoch=1, structure_report=True),
                          progress_bar=False)
    report = json.loads((result.run.root / "structure_report.json").read_text())
    assert report["images"] == 4 and -1 <= report["edge_agreement"]["mean"] <= 1 and report["ssim"]["mean"] <= 1
    assert len(report["least_structure_kept"]) == 4
    kid = report["kid"]
    assert "skipped" in kid or {"translated", "untranslated"} <= kid.keys()
