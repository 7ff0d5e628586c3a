"""The evaluate, utility and validate --outliers commands as a user runs them (subprocesses, real digit images)."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image, ImageFilter, ImageOps

from conftest import write_digits


def run(*args):
    """The real entry point in a subprocess (one test uses it; torch's import alone takes seconds here)."""
    result = subprocess.run([sys.executable, "-m", "ganfactory", *map(str, args)], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    real = write_digits(root / "real", per_class=30)
    generated = write_digits(root / "generated", per_class=30, offset=30)
    blurred = write_digits(root / "blurred", per_class=30, offset=30,
                           transform=lambda image: image.filter(ImageFilter.GaussianBlur(1.5)))
    return real, generated, blurred


def test_evaluate_a_folder_writes_metrics_with_intervals_and_provenance(digits, tiny_torchscript, tmp_path):
    real, generated, blurred = digits
    code, out, err = run("evaluate", generated, "--real", real, "--features", tiny_torchscript,
                         "--features-size", "32", "--bootstrap", "30", "--out", tmp_path / "eval")
    assert code == 0, err
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["network"]["name"] == "tiny.pt" and len(report["network"]["sha256"]) == 64
    # --feature-backend auto: bf16 where the CPU has it natively, else fp32 channels-last; recorded either way.
    assert (report["network"]["backend"], report["network"]["precision"]) in {
        ("torch-channels-last", "fp32"), ("torch-bf16", "bf16")}
    overall = report["overall"]
    assert overall["n_real"] == overall["n_generated"] == 90
    for name in ("fid", "kid", "precision", "recall", "density", "coverage"):
        assert overall[name]["low"] <= overall[name]["value"] <= overall[name]["high"], name
    assert set(report["per_class"]) == {"digit0", "digit1", "digit2"}
    assert "biased upward" in overall["fid"]["bias_note"] and "biased upward" in out
    # Two disjoint halves of one real set: KID's interval holds 0.
    assert overall["kid"]["low"] < 0.0 < overall["kid"]["high"]
    assert (tmp_path / "eval" / "memorisation_pairs.png").is_file()
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "eval" / "logs").iterdir())
    assert "overall" in out and "digit2" in out and "memorisation:" in out
    code, out, _ = run("evaluate", blurred, "--real", real, "--features", tiny_torchscript, "--features-size", "32",
                       "--bootstrap", "30", "--out", tmp_path / "blur")
    blurred_report = json.loads((tmp_path / "blur" / "metrics.json").read_text())
    assert blurred_report["features_reused"] == {"generated": 0, "real": 90}  # a new set against a seen real set
    blur = blurred_report["overall"]
    assert blur["fid"]["low"] > 10 * overall["fid"]["high"]  # blurred digits are clearly further away
    assert blur["kid"]["low"] > 0.0


def test_evaluate_with_an_onnx_network_on_a_run_folder(digits, tiny_onnx, tmp_path, cli):
    real, generated, _ = digits
    run_folder = tmp_path / "run"
    write_digits(run_folder / "Data", per_class=10, offset=60)
    (run_folder / "config.json").write_text("{}")
    code, out, err = cli("evaluate", run_folder, "--real", real, "--features", tiny_onnx, "--bootstrap", "20")
    assert code == 0, err
    report = json.loads((run_folder / "metrics.json").read_text())
    assert report["network"]["backend"] == "onnxruntime" and report["overall"]["n_generated"] == 30


@pytest.mark.parametrize("case", ["bad_features", "empty_folder", "out_inside_real"])
def test_bad_input_is_one_sentence_and_exit_2(digits, tmp_path, case, cli):
    real, generated, _ = digits
    if case == "bad_features":
        args = ["evaluate", generated, "--real", real, "--features", tmp_path / "nope.onnx"]
    elif case == "out_inside_real":
        args = ["evaluate", generated, "--real", real, "--out", real / "digit0" / "eval"]
    else:
        (tmp_path / "empty").mkdir()
        args = ["evaluate", tmp_path / "empty", "--real", real]
    code, out, err = cli(*args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    expected = {"bad_features": "nope.onnx", "empty_folder": "contains no images", "out_inside_real": "lies inside"}
    assert expected[case] in lines[0]
    assert not (real / "digit0" / "eval").exists()


def test_utility_prints_three_accuracies_on_real_digits(digits, cli):
    real, generated, _ = digits
    code, out, err = cli("utility", real, "--generated", generated, "--test-fraction", "0.3", "--seeds", "2",
                         "--epochs", "6", "--resolution", "16")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()[0] in
            ("real", "generated", "real+generated")}
    assert len(rows) == 3
    for line in rows.values():
        accuracy = float(line.split()[2])
        assert 0.0 <= accuracy <= 1.0
    assert float(rows["real"].split()[2]) > 0.5  # three digit classes are learnable; chance is 0.33
    assert "27 real held-out images" in out  # 30% of 30 per class, 3 classes


def test_validate_outliers_lists_the_odd_image_and_changes_nothing(tmp_path, tiny_torchscript, cli):
    data = write_digits(tmp_path / "data", classes=(0, 1), per_class=20)
    odd = next((data / "digit0").iterdir())  # a scan with inverted colours: white paper, dark ink
    ImageOps.invert(Image.open(odd)).save(data / "digit0" / "inverted.png")
    before = sorted(p.name for p in (data / "digit0").iterdir())
    code, out, err = cli("validate", data, "--min-images", "5", "--resolution", "16", "--outliers",
                         "--features", tiny_torchscript, "--outliers-out", tmp_path / "out")
    assert code == 0, err
    listed = json.loads((tmp_path / "out" / "outliers.json").read_text())["outliers"]
    assert listed and listed[0]["file"].endswith("inverted.png")
    assert (tmp_path / "out" / "outliers.png").is_file() and "nothing was moved or deleted" in out
    assert sorted(p.name for p in (data / "digit0").iterdir()) == before
