"""Issue 21, fault 5 (and the DatasetGAN part of 17): what decides a generated pair (the interpreter, the
generator, seed, truncation, class) decides whether it is there already, as StyleGAN's rule; pairs made otherwise
are made again, and the report counts pairs written, not candidates labelled."""

from __future__ import annotations

import hashlib

from ganfactory.engine.driver import run_operator
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.output.manifest import read_manifest

from .conftest import tiny


def _generate(out, **overrides):
    config = tiny(**{"num": 3, "drop_uncertain": 0.25, **overrides}, resume=str(out), predict=True)
    return run_operator(DATASETGAN, (), out, config, sampler_only=True)


def _images(out):
    return {line["id"]: hashlib.sha256(open(line["source"], "rb").read()).hexdigest()
            for line in read_manifest(out / "output_0.manifest")}


def test_another_truncation_or_a_newer_interpreter_makes_the_pairs_again(annotated):
    run_operator(DATASETGAN, (), annotated, tiny(), progress_bar=False)
    first = _generate(annotated)
    assert first.images_written == 3  # 4 candidates labelled, 3 pairs kept: the report counts pairs
    before = _images(annotated)
    again = _generate(annotated)
    assert again.images_written == 0 and _images(annotated) == before
    other = _generate(annotated, truncation=0.3)
    lines = read_manifest(annotated / "output_0.manifest")
    assert other.images_written == 3 and len(lines) == 3 and {line["truncation"] for line in lines} == {0.3}
    assert len(read_manifest(annotated / "Data" / "candidates.manifest")) == 4
    assert all(before.get(k) != v for k, v in _images(annotated).items())
    # train on: a newer interpreter, so the pairs are made again and cite it
    trained = run_operator(DATASETGAN, (), annotated, tiny(epochs=3), progress_bar=False)
    newer = _generate(annotated, truncation=0.3)
    lines = read_manifest(annotated / "output_0.manifest")
    assert newer.images_written == 3 and {line["checkpoint"] for line in lines} == {trained.checkpoint.name}
    dropped = list((annotated / "Data" / "dropped" / "images").glob("*.png"))
    assert len(dropped) == 1 and len(list((annotated / "Data" / "images").glob("*.png"))) == 3
