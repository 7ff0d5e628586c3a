"""Issue 21, fault 11: one generation at a time per OUT (DatasetGAN generate and StyleGAN generate): a second
process is refused with one sentence; and a rerun repairs a manifest that holds duplicate lines."""

from __future__ import annotations

import json
import shutil
import subprocess

from tests.operators.stylegan.conftest import CLI_ENV, assert_one_line_error, cli_args

from ganfactory.engine.driver import run_operator
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.output.lock import exclusive_output
from ganfactory.output.manifest import read_manifest

from .conftest import tiny


def _duplicate_every_line(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines + lines))
    assert len(read_manifest(path)) == 2 * len(lines)


def test_a_second_datasetgan_generation_is_refused_and_a_rerun_repairs_the_manifests(annotated):
    run_operator(DATASETGAN, (), annotated, tiny(num=3), progress_bar=False)
    command = cli_args("datasetgan", "generate", annotated, "--num", "3", "--device", "cpu")
    with exclusive_output(annotated):  # as another process generating into OUT right now
        busy = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    message = assert_one_line_error(busy, code=2)
    assert "is being written by another ganfactory process" in message and str(annotated) in message
    candidates, manifest = annotated / "Data" / "candidates.manifest", annotated / "output_0.manifest"
    _duplicate_every_line(candidates)
    _duplicate_every_line(manifest)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    assert done.returncode == 0, done.stderr
    for path, count in ((candidates, 4), (manifest, 3)):
        ids = [line["id"] for line in read_manifest(path)]
        assert len(ids) == len(set(ids)) == count


def test_a_second_stylegan_generation_is_refused_and_a_rerun_repairs_the_manifest(stylegan_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(stylegan_run, run)
    command = cli_args("generate", run, run, "--generate-num", "4", "--device", "cpu", "--precision", "fp32")
    first = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    assert first.returncode == 0, first.stderr
    with exclusive_output(run):
        busy = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    assert "is being written by another ganfactory process" in assert_one_line_error(busy, code=2)
    _duplicate_every_line(run / "output_0.manifest")
    again = subprocess.run(command, capture_output=True, text=True, timeout=120, env=CLI_ENV)
    assert again.returncode == 0 and "Wrote 0 images" in again.stdout, again.stderr
    ids = [json.loads(line)["id"] for line in (run / "output_0.manifest").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 4
