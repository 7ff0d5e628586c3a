"""Issue 21, faults 1 and 10: `datasetgan sample` run again (another --seed, more samples, after add-real) appends
new ids and never replaces an annotated sample, its latent or a real image's record."""

from __future__ import annotations

import hashlib
import json

import torch
from PIL import Image

from ganfactory.cli import main
from ganfactory.engine.precision import resolve_device
from ganfactory.operators.datasetgan.classes import read_classes
from ganfactory.operators.datasetgan.generator import load_generator, read_latents
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.operator import annotated_set
from ganfactory.operators.datasetgan.real import add_real
from ganfactory.operators.datasetgan.sample import sample_for_annotation

from ..stylegan.projection.test_projection import _real_folder
from .conftest import copy_of, sample_options, script_masks

CPU = torch.device("cpu")


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.png"))}


def _sample(run, out, *, num, seed):
    sample_for_annotation(run, out, sample_options(num=num, seed=seed), device=CPU)
    return read_latents(annotation_folder(out).latents_path)


def test_sampling_again_appends_and_keeps_annotated_samples(stylegan_run, sampled, tmp_path):
    out = copy_of(sampled, tmp_path)
    folder = annotation_folder(out)
    images_before = _digests(folder.images_dir)
    ws_before, ids_before, _ = read_latents(folder.latents_path)
    assert ids_before == ["0000", "0001", "0002", "0003"]
    # another seed: four new samples with new ids; the annotated ones stay as they were
    ws_after, ids_after, _ = _sample(stylegan_run, out, num=4, seed=50)
    assert ids_after == ["0000", "0001", "0002", "0003", "0004", "0005", "0006", "0007"]
    assert torch.equal(ws_after[:4], ws_before)
    after = _digests(folder.images_dir)
    assert {k: after[k] for k in images_before} == images_before and len(after) == 8
    records = json.loads(folder.samples_path.read_text())
    assert [r["seed"] for r in records] == [3, 4, 5, 6, 50, 51, 52, 53]
    # more samples with the first seed: only the ones not there yet are added
    _, ids_more, _ = _sample(stylegan_run, out, num=6, seed=3)
    assert ids_more[-2:] == ["0008", "0009"] and len(ids_more) == 10
    assert [r["seed"] for r in json.loads(folder.samples_path.read_text())][-2:] == [7, 8]
    # the same command again adds nothing
    _, ids_again, _ = _sample(stylegan_run, out, num=6, seed=3)
    assert ids_again == ids_more and len(_digests(folder.images_dir)) == 10


def test_sampling_after_add_real_keeps_the_real_images(stylegan_run, sampled, tmp_path):
    out, proj = copy_of(sampled, tmp_path), tmp_path / "proj"
    assert main(["-q", "project", str(stylegan_run), str(_real_folder(tmp_path)), str(proj), "--steps", "2",
                 "--device", "cpu", "--perceptual", "none"]) == 0
    assert add_real(out, proj) == ["real-photo0", "real-photo1"]
    sample_for_annotation(stylegan_run, out, sample_options(num=2, seed=90), device=resolve_device("cpu"))
    folder = annotation_folder(out)
    _, ids, _ = read_latents(folder.latents_path)
    assert ids == ["0000", "0001", "0002", "0003", "real-photo0", "real-photo1", "0004", "0005"]
    records = {r["id"]: r for r in json.loads(folder.samples_path.read_text())}
    assert records["real-photo1"]["real"] and records["real-photo1"]["source"].endswith("photo1.png")
    folder.masks_dir.mkdir()
    for stem, mask in script_masks(folder.images_dir).items():
        Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    source = load_generator(folder.generator_path, device=CPU)
    train_ids, _, masks = annotated_set(folder, source, read_classes(folder.classes_path))
    assert len(train_ids) == 8 and masks.shape[0] == 8
