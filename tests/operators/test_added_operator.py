"""docs/adding-an-operator.md, kept true: an operator added as one folder (tests/fixtures/paint_operator) plus one
registration line (an entry point) trains through `ganfactory NAME`, is sampled by `ganfactory generate` with
its own options, and its extra command is on the CLI; nothing in ganfactory names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfactory.output.manifest import read_manifest

FIXTURES = Path(__file__).parent.parent / "fixtures"
COLOUR = (200, 40, 90)


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose Python finds the paint package and its one registration line."""
    site = tmp_path_factory.mktemp("site")
    info = site / "paint_operator-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: paint-operator\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganfactory.operators]\npaint = paint_operator.spec:PAINT\n")
    path = os.pathsep.join([str(site), str(FIXTURES), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def _ganfactory(env: dict[str, str], *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganfactory", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_plugin_operator_trains_generates_by_its_sampler_and_brings_its_command(plugin_env, tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for index in range(3):
        Image.fromarray(np.full((8, 8, 3), COLOUR, dtype=np.uint8)).save(data / f"{index}.png")
    run = tmp_path / "run"
    trained = _ganfactory(plugin_env, "paint", data, run, "--steps", "60", "--count", "1", "--device", "cpu")
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "painted"
    generated = _ganfactory(plugin_env, "generate", run, out, "--count", "3", "--size", "12", "--device", "cpu")
    assert generated.returncode == 0, generated.stderr
    assert f"Wrote 3 images to {out / 'Data'}" in generated.stdout
    lines = read_manifest(out / "output_0.manifest")
    assert len(lines) == 3 and all(line["operator"] == "paint" for line in lines)
    for line in lines:
        with Image.open(line["source"]) as image:
            pixels = np.asarray(image.convert("RGB"))
        assert pixels.shape == (12, 12, 3) and np.abs(pixels.astype(int) - COLOUR).max() <= 3  # the learned colour
    colour = _ganfactory(plugin_env, "paint-colour", run)  # the spec's extra command, on the CLI
    assert colour.returncode == 0, colour.stderr
    learned = [int(v) for v in colour.stdout.split(":")[1].split()]
    assert np.abs(np.array(learned) - COLOUR).max() <= 3
