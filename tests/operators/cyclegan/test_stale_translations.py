"""Issue 13, fault 4 for CycleGAN: a translation is redone when its model or its source file changed (file and
manifest line replaced), never left stale; unchanged ones are kept."""

from __future__ import annotations

import shutil

import pytest

from ganfactory.operators.cyclegan.operator import run_cyclegan

from .conftest import _image, manifest_lines, tiny_config

pytestmark = pytest.mark.usefixtures("single_thread")


def test_training_on_or_a_changed_source_redoes_the_translations(domains, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(domains[0], source)
    out = tmp_path / "run"
    first = run_cyclegan(source, domains[1], out, tiny_config(max_epoch=1, keep_checkpoints=1), progress_bar=False)
    assert first.images_written == 4
    second = run_cyclegan(source, domains[1], out, tiny_config(max_epoch=2, keep_checkpoints=1), progress_bar=False)
    lines = manifest_lines(out)
    assert second.images_written == len(lines) == 4  # the newer model made them again, in place
    assert {line["checkpoint"] for line in lines} == {second.checkpoint.name} and second.checkpoint.is_file()
    assert not first.checkpoint.exists()  # no longer cited, so the keep-1 rule removed it
    _image(99, "A").save(source / "a0.png")  # one source image changed
    third = run_cyclegan(source, domains[1], out, tiny_config(max_epoch=2, keep_checkpoints=1), progress_bar=False)
    assert third.images_written == 1 and len(manifest_lines(out)) == 4
