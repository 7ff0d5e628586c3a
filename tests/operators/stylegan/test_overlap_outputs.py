"""Issue 13, fault 1 for the commands that read a trained run: generate, export --output, interpolate --output.

Their inputs are the checkpoint and the data its run was trained on (recorded in config.json); no output
may land on, in or around either.
"""

from __future__ import annotations

import pytest

from ganfactory.errors import InputError
from ganfactory.export.cli import export_run
from ganfactory.operators.stylegan.interpolate import interpolate_run
from ganfactory.operators.stylegan.operator import run_stylegan

from .conftest import latest_ckpt, tiny_config, tree_digest


def test_export_onto_the_checkpoint_is_refused(trained):
    before = tree_digest(trained)
    with pytest.raises(InputError, match="is the input file"):
        export_run(trained, latest_ckpt(trained))
    assert tree_digest(trained) == before


def test_interpolate_into_the_training_data_is_refused(trained, two_classes):
    before = tree_digest(two_classes)
    with pytest.raises(InputError, match="lies inside the input folder"):
        interpolate_run(trained, seeds=[1, 2], frames=2, output=two_classes / "cats" / "morph.gif")
    assert tree_digest(two_classes) == before


def test_generate_into_the_training_data_is_refused(trained, two_classes):
    before = tree_digest(two_classes)
    config = tiny_config(predict=True, resume=str(trained))
    with pytest.raises(InputError, match="lies inside the input folder"):
        run_stylegan(None, two_classes / "more", config, progress_bar=False)
    assert tree_digest(two_classes) == before


def test_generate_next_to_the_model_is_allowed(trained, tmp_path):
    result = run_stylegan(None, tmp_path / "gen", tiny_config(predict=True, resume=str(trained), generate_num=1),
                          progress_bar=False)
    assert result.images_written == 2
