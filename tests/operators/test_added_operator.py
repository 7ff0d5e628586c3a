"""docs/adding-an-operator.md, kept true: an operator added as one folder (tests/fixtures/paint_operator) plus one
registration line (an entry point) trains with the engine's driver, is sampled by `ganfactory generate` with its
own options, and its extra command is on the CLI; nothing in ganfactory names it. (Training through `ganfactory
NAME` from an entry point is tests/engine/test_operator_platform.py's part.)"""

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


# One interpreter runs both commands through the real CLI (`ganfactory.cli.main`, which `python -m ganfactory`
# runs), so the test pays one start-up; the registry it builds finds the operator by its entry point only.
_TWO_COMMANDS = """
import sys
from ganfactory.cli import main
codes = [main(sys.argv[1:8]), main(sys.argv[8:])]
sys.exit(max(codes))
"""


def test_a_plugin_operator_trains_generates_by_its_sampler_and_brings_its_command(plugin_env, tmp_path,
                                                                                   monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))
    from paint_operator.spec import PAINT, PaintConfig

    from ganfactory.engine.driver import run_operator

    data = tmp_path / "data"
    data.mkdir()
    for index in range(2):
        Image.fromarray(np.full((8, 8, 3), COLOUR, dtype=np.uint8)).save(data / f"{index}.png")
    run = tmp_path / "run"
    trained = run_operator(PAINT, (data,), run, PaintConfig(steps=60, count=1, device="cpu"), progress_bar=False)
    assert trained.images_written == 1 and trained.done == 60
    out = tmp_path / "painted"
    args = ["generate", run, out, "--count", "3", "--size", "12", "paint-colour", run]
    both = subprocess.run([sys.executable, "-c", _TWO_COMMANDS, *map(str, args)], env=plugin_env,
                          capture_output=True, text=True, timeout=300)
    assert both.returncode == 0, both.stderr
    assert f"Wrote 3 images to {out / 'Data'}" in both.stdout
    lines = read_manifest(out / "output_0.manifest")
    assert len(lines) == 3 and all(line["operator"] == "paint" for line in lines)
    for line in lines:
        with Image.open(line["source"]) as image:
            pixels = np.asarray(image.convert("RGB"))
        assert pixels.shape == (12, 12, 3) and np.abs(pixels.astype(int) - COLOUR).max() <= 3  # the learned colour
    learned = [int(v) for v in both.stdout.split("paint colour:")[1].split()[:3]]  # the spec's extra command
    assert np.abs(np.array(learned) - COLOUR).max() <= 3
