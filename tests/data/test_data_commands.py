"""run_validate and prepare_dataset, the functions behind `ganfactory validate` and `ganfactory prepare`."""

from __future__ import annotations

import json
import sys

from ganfactory.data.commands import run_validate
from ganfactory.data.prepare import prepare_dataset


def test_run_validate_writes_json_and_returns_the_report(make_folder, kit, tmp_path):
    root = make_folder({"a": 3, "b": 1})
    kit.write(root / "a" / "bad.png", b"junk")
    report = run_validate(root, resolution=32, min_images=2, json_path=tmp_path / "v" / "report.json")
    assert not report.usable
    saved = json.loads((tmp_path / "v" / "report.json").read_text(encoding="utf-8"))
    assert saved["usable"] is False and saved["class_counts"] == {"a": 3, "b": 1}
    lines = report.summary_lines()
    assert lines[0].endswith("2 class(es), 5 image files, 4 usable, 1 left out")
    assert ("error: class 'b' has 1 usable images, fewer than the minimum of 2; add images or lower --min-images."
            in lines)
    assert lines[-1] == "result: NOT usable"


def test_prepare_dataset_returns_the_report_with_a_summary(make_folder, tmp_path):
    root = make_folder({"a": 2, "b": 2})
    report = prepare_dataset(root, tmp_path / "out", resolution=8, mode="pad", background="0,0,0", channels=1)
    assert report.written == {"a": 2, "b": 2} and report.background == (0, 0, 0)
    assert report.summary_lines()[0].endswith("4 images written at 8x8 (pad, grayscale), 0 dropped")
    assert report.report_path.is_file()


def test_validate_and_prepare_do_not_import_torch(make_folder, tmp_path):
    import subprocess

    root = make_folder({None: 2})
    code = ("import sys; from ganfactory.data import run_validate, prepare_dataset; "
            f"run_validate({str(root)!r}, resolution=8, min_images=1); "
            f"prepare_dataset({str(root)!r}, {str(tmp_path / 'out')!r}, resolution=8); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
