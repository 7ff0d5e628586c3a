"""Issue 21, fault 5 (and the DatasetGAN part of 17): what decides a generated pair (the interpreter, the
generator, seed, truncation, class) decides whether it is there already, as StyleGAN's rule; pairs made otherwise
are made again, and the report counts pairs written, not candidates labelled."""

from __future__ import annotations

import hashlib

from ganfactory.engine.driver import run_operator
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.output.manifest import read_manifest

from .conftest import sample_options, tiny


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


def test_another_class_name_makes_the_pairs_again(tmp_path):
    """Asked for dogs after cats: every pair (and its line) is a dog's, none of the cats is kept."""
    import numpy as np
    from PIL import Image

    from ganfactory.engine.precision import resolve_device
    from ganfactory.operators.datasetgan.classes import template_classes, write_classes
    from ganfactory.operators.datasetgan.layout import annotation_folder
    from ganfactory.operators.datasetgan.sample import sample_for_annotation
    from ganfactory.operators.stylegan.config import StyleGANConfig
    from ganfactory.operators.stylegan.operator import run_stylegan

    from .conftest import CLASSES, SIZE, script_masks

    rng = np.random.default_rng(1)
    for name in ("cat", "dog"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(2):
            pixels = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / name / f"{i}.png")
    config = StyleGANConfig(resolution=SIZE, cfg="small", cbase=256, cmax=16, batch_size=4, total_kimg=0.004,
                            tick_kimg=0.004, generate_num=0, min_images=2, device="cpu", precision="fp32")
    run_stylegan(tmp_path / "data", tmp_path / "run", config, progress_bar=False)
    out = tmp_path / "out"
    sample_for_annotation(tmp_path / "run", out, sample_options(num=2), device=resolve_device("cpu"))
    folder = annotation_folder(out)
    write_classes(folder.classes_path, template_classes(CLASSES))
    folder.masks_dir.mkdir()
    for stem, mask in script_masks(folder.images_dir).items():
        Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    run_operator(DATASETGAN, (), out, tiny(), progress_bar=False)
    _generate(out, class_name="cat")
    assert {line["class_index"] for line in read_manifest(out / "output_0.manifest")} == {0}
    dogs = _generate(out, class_name="dog")
    lines = read_manifest(out / "output_0.manifest")
    assert dogs.images_written == 3 and len(lines) == 3 and {line["class_index"] for line in lines} == {1}
