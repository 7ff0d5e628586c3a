"""Issue 21, fault 8: `datasetgan generate` stops on SIGTERM / Ctrl-C after the batch in hand with exit 75, and the
same command resumes; in-process, a stop request ends generation between batches."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from tests.operators.stylegan.conftest import CLI_ENV, assert_one_line_error, cli_args

from ganfactory.engine.driver import run_operator
from ganfactory.engine.signals import RunInterrupted, StopRequest
from ganfactory.operators.datasetgan import generate as generate_module
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.output.manifest import read_manifest

from .conftest import tiny


def _candidates(out):
    path = out / "Data" / "candidates.manifest"
    return read_manifest(path) if path.is_file() else []


def test_a_stop_request_ends_generation_after_the_batch_in_hand(annotated, monkeypatch):
    run_operator(DATASETGAN, (), annotated, tiny(), progress_bar=False)
    stop, original = StopRequest(), generate_module.label_latents

    def label_then_stop(*args, **kwargs):
        stop.set("SIGTERM")  # arrives while the first batch is being labelled
        return original(*args, **kwargs)

    monkeypatch.setattr(generate_module, "label_latents", label_then_stop)
    config = tiny(num=6, drop_uncertain=0.0, batch=2, resume=str(annotated), predict=True)
    with pytest.raises(RunInterrupted, match=r"Stopped \(SIGTERM\) after .*run the same command to resume"):
        run_operator(DATASETGAN, (), annotated, config, sampler_only=True, stop=stop)
    assert len(_candidates(annotated)) == 2  # the batch in hand is written, nothing more
    monkeypatch.undo()
    result = run_operator(DATASETGAN, (), annotated, config, sampler_only=True)
    assert result.images_written == 4 and len(read_manifest(annotated / "output_0.manifest")) == 6


def test_sigterm_to_the_generate_command_exits_75(annotated):
    run_operator(DATASETGAN, (), annotated, tiny(), progress_bar=False)
    command = cli_args("datasetgan", "generate", annotated, "--num", "3000", "--drop-uncertain", "0", "--batch", "1",
                       "--device", "cpu")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV)
    try:
        deadline = time.monotonic() + 120
        while not _candidates(annotated):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    message = assert_one_line_error(subprocess.CompletedProcess(command, process.returncode, stdout, stderr), code=75)
    assert "SIGTERM" in message and "run the same command to resume" in message
    assert 1 <= len(_candidates(annotated)) < 3000

