"""Issue 13, fault 7: a stop during generation exits 75 with the resume hint (as for training), and a
read-only OUT is one sentence with exit 2, not an internal error."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from ganfactory.cli import main

from .conftest import CLI_ENV, assert_one_line_error, cli_args, image_files, manifest_lines


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder nobody may write in: chmod 555, or (as root, who ignores modes) sysfs."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    if not Path("/sys/kernel").is_dir():
        pytest.skip("running as root without sysfs: no folder here refuses writes")
    return Path("/sys/kernel")


@pytest.mark.parametrize("command", ["generate", "stylegan"])
def test_a_read_only_out_is_one_sentence_with_exit_2(command, trained, two_classes, tmp_path, capsys):
    out = _unwritable_folder(tmp_path) / "run"
    args = [str(trained), str(out)] if command == "generate" else [str(two_classes), str(out), "--device", "cpu"]
    code = main([command, *args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("error:") == 1 and "Cannot write in" in err, err
    assert "internal error" not in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_generation_exits_75_with_the_resume_hint(signum, trained, tmp_path):
    out = tmp_path / "generated"
    process = subprocess.Popen(cli_args("generate", trained, out, "--generate-num", "4000", "--device", "cpu",
                                        "--precision", "fp32"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV)
    deadline = time.monotonic() + 150  # a loaded machine starts torch slowly
    while not (out / "output_0.manifest").is_file() or not (out / "output_0.manifest").stat().st_size:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=150)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    message = assert_one_line_error(result, code=75)
    assert "run the same command to resume" in message
    assert 0 < len(image_files(out / "Data")) == len(manifest_lines(out)) < 8000  # the work in hand is saved whole
