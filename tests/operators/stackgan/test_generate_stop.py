"""Issue 21, fault 8 (the same kind in StackGAN): generation from captions stops between batches once a stop is
requested (SIGTERM, Ctrl-C, the job worker), with exit 75, after writing the batch in hand; a rerun resumes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganfactory.engine.signals import EXIT_INTERRUPTED, RunInterrupted, StopRequest
from ganfactory.operators.stackgan.generate import BATCH, CaptionRequest, generate_from_captions
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import read_manifest


class _Pipeline:
    """A text-to-image stand-in: grey 8x8 images; the first call asks to stop, as a SIGTERM arriving mid-batch."""

    def __init__(self, stop: StopRequest | None) -> None:
        self.stop, self.calls = stop, 0

    def to(self, device: torch.device) -> _Pipeline:
        return self

    def eval(self) -> _Pipeline:
        return self

    def __call__(self, embedding, z, eps1, eps2) -> torch.Tensor:
        self.calls += 1
        if self.stop is not None:
            self.stop.set("SIGTERM")
        return torch.zeros(embedding.shape[0], 3, 8, 8)


def _generate(run: RunFolder, pipeline: _Pipeline, stop: StopRequest | None) -> int:
    request = CaptionRequest("a bird", None, np.zeros(4, dtype=np.float32))
    return generate_from_captions(pipeline, [request], run=run, count=BATCH + 4, seed=0, z_dim=2, condition_dim=2,
                                  device=torch.device("cpu"), image_format="png", provenance={}, stop=stop)


def test_caption_generation_stops_after_the_batch_in_hand(tmp_path):
    run, stop = RunFolder(tmp_path / "run").create(), StopRequest()
    pipeline = _Pipeline(stop)
    with pytest.raises(RunInterrupted, match=r"Stopped \(SIGTERM\) after writing 16 images") as raised:
        _generate(run, pipeline, stop)
    assert raised.value.exit_code == EXIT_INTERRUPTED and pipeline.calls == 1
    assert len(read_manifest(run.manifest_path)) == BATCH
    assert _generate(run, _Pipeline(None), None) == 4 and len(read_manifest(run.manifest_path)) == BATCH + 4
