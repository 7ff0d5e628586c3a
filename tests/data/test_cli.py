"""`ganfactory validate` and `ganfactory prepare` as subprocesses: summaries, exit codes, reports, DATA untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image


def ganfactory(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganfactory", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def data(make_folder) -> Path:
    return make_folder({"cats": 3, "dogs": 3})


def test_validate_usable_data(data, kit, tmp_path):
    before = kit.tree_digest(data)
    result = ganfactory("validate", data, "--resolution", "16", "--min-images", "2", "--json", tmp_path / "v.json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{data}: dual-level, 2 class(es), 6 image files, 6 usable, 0 left out"
    assert lines[-1] == "result: usable" and "error:" not in result.stdout + result.stderr
    report = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert report["usable"] is True and report["class_counts"] == {"cats": 3, "dogs": 3}
    assert kit.tree_digest(data) == before


def _nested(root: Path, kit) -> Path:
    kit.save(kit.noise(1), root / "cats" / "a.png")
    kit.save(kit.noise(2), root / "cats" / "deeper" / "b.png")  # DATA/class/deeper/image
    return root


BAD = {  # case: (build DATA, --min-images, text of the error line)
    "too few images": (lambda root, kit, make: make({"cats": 3, "dogs": 1}), 2, "class 'dogs' has 1 usable images"),
    "no images": (lambda root, kit, make: root, 1, "contains no images"),
    "three levels": (lambda root, kit, make: _nested(root, kit), 1, "nested more than two levels deep"),
}


@pytest.mark.parametrize("case", BAD)
def test_validate_unusable_data_exits_2_with_an_error_line(case, kit, make_folder, tmp_path):
    build, min_images, expected = BAD[case]
    data = build(tmp_path / "bad", kit, make_folder)
    data.mkdir(exist_ok=True)
    before = kit.tree_digest(data)
    result = ganfactory("validate", data, "--resolution", "16", "--min-images", min_images,
                        "--json", tmp_path / "v.json")
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert any(expected in line for line in errors), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if case != "no images":  # with nothing to report on there is no report
        assert json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))["usable"] is False
    assert kit.tree_digest(data) == before


def test_prepare_writes_the_prepared_tree_and_report(data, kit, tmp_path):
    before, out = kit.tree_digest(data), tmp_path / "prepared"
    result = ganfactory("prepare", data, out, "--resolution", "16", "--channels", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{data} -> {out}: 6 images written at 16x16 (crop, grayscale), 0 dropped"
    written = sorted(out.rglob("*.png"))
    assert [p.relative_to(out).parent.name for p in written] == ["cats"] * 3 + ["dogs"] * 3
    for path in written:
        with Image.open(path) as image:
            assert (image.mode, image.size) == ("L", (16, 16))
    assert json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert kit.tree_digest(data) == before


def test_prepare_without_images_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    result = ganfactory("prepare", tmp_path / "empty", tmp_path / "out", "--resolution", "16")
    assert result.returncode == 2 and result.stderr.splitlines()[-1].startswith("error:")
    assert "Traceback" not in result.stderr
