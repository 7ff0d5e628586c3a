"""Issue 21, fault 3 (and the DatasetGAN part of 17): corrected annotations (their content hash) mean a new
training, said in one line; a class added to classes.json trains anew instead of an error whose advice cannot be
followed; `generate` with an interpreter of other annotations says to train first."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.driver import run_operator
from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.classes import template_classes, write_classes
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.spec import DATASETGAN

from .conftest import CLASSES, tiny


def _train(out, **overrides):
    return run_operator(DATASETGAN, (), out, tiny(**overrides), progress_bar=False)


def _state(out):
    path = out / "model" / (out / "model" / "latest").read_text().strip()
    return torch.load(path, weights_only=True)["operator"]


def _correct_one_mask(out):
    folder = annotation_folder(out)
    path = sorted(folder.masks_dir.glob("*.png"))[0]
    mask = np.asarray(Image.open(path)).copy()
    mask[:8] = (mask[:8] + 1) % len(CLASSES)
    Image.fromarray(mask, mode="L").save(path)


def test_corrected_annotations_mean_a_new_training(annotated, caplog):
    _train(annotated)
    first = _state(annotated)
    _train(annotated)  # nothing changed: resumed, finished, no step taken
    again = _state(annotated)
    assert again["steps"] == first["steps"]
    for key in first["ensemble"]:
        assert torch.equal(first["ensemble"][key], again["ensemble"][key])
    _correct_one_mask(annotated)
    with caplog.at_level(logging.INFO, logger="ganfactory"):
        _train(annotated)
    retrained = _state(annotated)
    assert retrained["annotations_sha256"] != first["annotations_sha256"]
    assert any(not torch.equal(first["ensemble"][k], retrained["ensemble"][k]) for k in first["ensemble"])
    said = [r.getMessage() for r in caplog.records if "annotations changed" in r.getMessage()]
    assert len(said) == 1 and "training a new interpreter" in said[0]
    assert list((annotated / "superseded").glob("interpreter-*/ckpt-*.pt"))  # the old one is kept aside


def test_a_class_added_trains_anew_and_generate_says_to_train_first(annotated):
    _train(annotated)
    folder = annotation_folder(annotated)
    write_classes(folder.classes_path, template_classes([*CLASSES, "extra"]))
    config = tiny(num=2, resume=str(annotated), predict=True)
    with pytest.raises(InputError, match="run 'ganfactory datasetgan train"):
        run_operator(DATASETGAN, (), annotated, config, sampler_only=True)
    _train(annotated)  # no "networks differ" error: the annotations changed, so the interpreter is new
    assert json.loads((annotated / "config.json").read_text())["resolved"]["classes"][-1] == "extra"
    run_operator(DATASETGAN, (), annotated, config, sampler_only=True)
    lines = (annotated / "output_0.manifest").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["annotation"][0]["class_names"][-1] == "extra"
