"""`ganfactory stylegan` (and export, generate, interpolate) as subprocesses: the run folder, --config with flag
overrides, one-line errors with exit 2. SIGTERM -> save, exit 75, the same command resumes: test_battery.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from ganfactory.engine.precision import cpu_supports_bf16

from .conftest import (
    CLASSES,
    CLI_ENV,
    TINY_FLAGS,
    assert_one_line_error,
    cli_args,
    image_files,
    latest_ckpt,
    load_ckpt,
    manifest_lines,
    tree_digest,
    write_images,
)

pytestmark = pytest.mark.precision  # `auto` resolves per CPU: run on both kinds


@pytest.fixture(scope="module")
def cli_run(cli, two_classes, tmp_path_factory) -> Path:
    """A CLI run whose total comes from a YAML file and whose generate_num there is overridden by a flag."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "run.yaml"
    config.write_text("total-kimg: 0.06\ngenerate_num: 7\nseed: 3\n", encoding="utf-8")
    before = tree_digest(two_classes)
    out = root / "run"
    result = cli("stylegan", two_classes, out, *TINY_FLAGS, "--config", config, "--generate-num", "2")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Wrote 4 images to {out / 'Data'}" in result.stdout
    assert tree_digest(two_classes) == before  # the input folder is never changed
    return out


def test_cli_writes_the_run_folder(cli_run):
    assert {p.name for p in cli_run.iterdir()} >= {"model", "samples", "Data", "logs", "output_0.manifest",
                                                   "config.json", "validation.json"}
    assert (cli_run / "model" / "latest").is_file() and latest_ckpt(cli_run).is_file()
    assert (cli_run / "samples" / "fakes_init.png").is_file() and len(list((cli_run / "samples").glob("*.png"))) >= 2
    for name in CLASSES:
        assert [f.name for f in image_files(cli_run / "Data" / name)] == ["seed00000003.png", "seed00000004.png"]
    lines = manifest_lines(cli_run)
    assert len(lines) == 4 and {line["annotation"][0]["name"] for line in lines} == set(CLASSES)
    stats = [json.loads(line) for line in (cli_run / "logs" / "stats.jsonl").read_text().splitlines()]
    assert stats and stats[-1]["kimg"] == pytest.approx(0.06)
    progress = json.loads((cli_run / "logs" / "progress.json").read_text())
    assert progress["done"] == pytest.approx(0.06) and progress["total"] == pytest.approx(0.06)


def test_config_json_holds_the_resolved_values(cli_run):
    config = json.loads((cli_run / "config.json").read_text())
    assert config["operator"] == "stylegan"
    assert config["total_kimg"] == pytest.approx(0.06)  # from --config (total-kimg, kebab case)
    assert config["seed"] == 3  # from --config (snake case)
    assert config["generate_num"] == 2  # the flag overrides the file's 7
    assert (config["resolution"], config["batch_size"], config["cbase"], config["cmax"]) == (16, 4, 256, 32)
    resolved = config["resolved"]
    # `auto` (the default) is bf16 on a CPU with native bf16 and fp32 elsewhere (or with GANFACTORY_CPU_BF16=0)
    expected_precision = "bf16" if cpu_supports_bf16() else "fp32"
    assert resolved["classes"] == list(CLASSES) and resolved["device"] == "cpu"
    assert resolved["precision"] == expected_precision
    assert (resolved["preset"]["channel_base"], resolved["preset"]["channel_max"]) == (256, 32)
    state = load_ckpt(latest_ckpt(cli_run))["operator"]
    assert state["images_seen"] == 60 and state["config"]["total_kimg"] == pytest.approx(0.06)


def test_cli_generate_and_interpolate(cli, cli_run, tmp_path):
    gif = tmp_path / "morph.gif"
    interpolate = subprocess.Popen(cli_args("interpolate", cli_run, "--seeds", "1,2", "--frames", "5",
                                            "--class-name", "dogs", "--output", gif),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV)
    predicted = tmp_path / "pred"
    generated = cli("generate", cli_run, predicted, "--generate-num", "3", "--seed", "3")
    assert generated.returncode == 0, generated.stderr
    assert len(manifest_lines(predicted)) == 6
    for name in CLASSES:  # the same images as the run's own generation (seeds 3 and 4), and one more
        files = image_files(predicted / "Data" / name)
        assert [f.name for f in files] == [f"seed{i:08d}.png" for i in (3, 4, 5)]
        assert all(f.read_bytes() == (cli_run / "Data" / name / f.name).read_bytes() for f in files[:2])
    stdout, stderr = interpolate.communicate(timeout=120)
    assert interpolate.returncode == 0, stderr
    with Image.open(gif) as image:
        assert image.n_frames == 10


# --- bad input: exit 2, one line ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_inputs(two_classes, tmp_path_factory) -> dict[str, tuple[list, str]]:
    """name: (arguments after `stylegan`, what the one line says)."""
    root = tmp_path_factory.mktemp("errors")
    (root / "empty").mkdir()
    write_images(root / "nested" / "cats" / "deeper", "cats", 2)
    write_images(root / "nested" / "cats", "cats", 2, first_seed=10)
    (root / "bad.yaml").write_text("total-kimg: 0.01\nlearning_speed: 3\n", encoding="utf-8")
    (root / "corrupt.pt").write_bytes(b"PK\x03\x04 this is not a checkpoint" * 20)
    quick = [*TINY_FLAGS, "--total-kimg", "0.004"]
    return {
        "missing folder": ([root / "missing", root / "o1", *quick], "does not exist"),
        "empty folder": ([root / "empty", root / "o2", *quick], "contains no images"),
        "class under the minimum": ([two_classes, root / "o3", "--resolution", "16"], "fewer than the minimum of 70"),
        "three levels": ([root / "nested", root / "o4", *quick, "--min-images", "1"], "nested more than two levels"),
        "resolution not a power of two": ([two_classes, root / "o5", "--resolution", "24"], "power of two"),
        "batch size 0": ([two_classes, root / "o6", "--batch-size", "0"], "batch_size"),
        "unknown key in --config": ([two_classes, root / "o7", "--config", root / "bad.yaml"],
                                    "Unknown parameter 'learning_speed'"),
        "predict without resume": ([two_classes, root / "o8", "--predict"], "--predict needs --resume"),
        "corrupt checkpoint (predict)": ([two_classes, root / "o9", "--predict", "--resume", root / "corrupt.pt"],
                                         "damaged"),
        "corrupt checkpoint (resume)": ([two_classes, root / "o10", *quick, "--resume", root / "corrupt.pt"],
                                        "damaged"),
        "output inside the input": ([two_classes, two_classes / "out", *quick], "inside the input folder"),
    }


@pytest.mark.parametrize("case", [
    "missing folder", "empty folder", "class under the minimum", "three levels", "resolution not a power of two",
    "batch size 0", "unknown key in --config", "predict without resume", "corrupt checkpoint (predict)",
    "corrupt checkpoint (resume)", "output inside the input"])
def test_bad_input_is_one_line_and_exit_2(in_process, bad_inputs, two_classes, case):
    args, expected = bad_inputs[case]
    before = tree_digest(two_classes)
    message = assert_one_line_error(in_process("stylegan", *args))
    assert expected in message, message
    assert tree_digest(two_classes) == before


def test_bad_input_in_a_real_process(bad_inputs):
    """Two of the cases above through `python -m ganfactory`, side by side: the exit code and stderr of a process."""
    cases = ("missing folder", "corrupt checkpoint (predict)")
    processes = [subprocess.Popen(cli_args("stylegan", *bad_inputs[case][0]), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=CLI_ENV) for case in cases]
    for case, process in zip(cases, processes):
        stdout, stderr = process.communicate(timeout=120)
        message = assert_one_line_error(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
        assert bad_inputs[case][1] in message, message
