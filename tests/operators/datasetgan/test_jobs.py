"""Every DatasetGAN step as a job: `jobs submit datasetgan STEP ...` stores a typed request (the step, absolute
paths, a validated config) whose command line parses back to the same request, bad steps are refused at
submit, and a worker runs a queued `sample` step to the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganfactory.engine.driver import run_operator
from ganfactory.errors import ConfigError
from ganfactory.jobs.commands import open_queue, submit, submit_shards
from ganfactory.jobs.errors import JobError
from ganfactory.jobs.launch import operator_command_line
from ganfactory.jobs.model import JobStatus
from ganfactory.jobs.worker import run_worker
from ganfactory.operators.command import OperatorRequest, step_command
from ganfactory.operators.datasetgan.spec import DATASETGAN
from ganfactory.output.manifest import read_manifest

from .conftest import tiny

STEPS = {
    "sample": (["run", "out", "--num", "3", "--truncation", "0.5"], {"num": 3, "truncation": 0.5}),
    "train": (["out", "--members", "4", "--epochs", "2"], {"members": 4, "epochs": 2.0}),
    "generate": (["out", "--num", "7", "--drop-uncertain", "0.2"], {"num": 7, "drop_uncertain": 0.2}),
    "evaluate": (["out", "--real-test", "real", "--epochs", "3", "--no-flip"], {"epochs": 3.0, "flip": False}),
}


@pytest.mark.parametrize("name", list(STEPS))
def test_each_step_is_queued_as_a_typed_request(name, tmp_path):
    home = tmp_path / "home"
    args, expected = STEPS[name]
    job = open_queue(home).get(submit(home, "datasetgan", [name, *args], cwd=tmp_path))
    assert job.run_folder == (tmp_path / "out").resolve() and job.request["step"] == name
    assert job.request["out"] == str((tmp_path / "out").resolve())
    assert job.request["inputs"] == ([str((tmp_path / "run").resolve())] if name == "sample" else [])
    for key, value in expected.items():
        assert job.request["config"][key] == value
    if name == "evaluate":
        assert job.request["config"]["real_test"] == str((tmp_path / "real").resolve())
    argv = operator_command_line(job, python="python")
    assert argv[:5] == ["python", "-m", "ganfactory", "datasetgan", name]
    # The worker's command line is read by the step's own command into the very same request.
    command = step_command(DATASETGAN, name)
    params = command.make_context(name, argv[5:], resilient_parsing=True).params
    again = command.request(params, cwd=Path("/"))
    assert again.to_json() == job.request
    assert OperatorRequest.from_json(job.request, DATASETGAN).argv() == argv[4:]


def test_bad_steps_are_refused_at_submit(tmp_path):
    home = tmp_path / "home"
    with pytest.raises(JobError, match="Name the step of 'datasetgan'"):
        submit(home, "datasetgan", ["--num", "3"], cwd=tmp_path)
    expected = "'fit' is no step of 'datasetgan'; its queueable steps: evaluate, generate, sample, train"
    with pytest.raises(JobError, match=expected):
        submit(home, "datasetgan", ["fit", "out"], cwd=tmp_path)
    with pytest.raises(JobError, match="'add-real' is not a step that can be queued"):
        submit(home, "datasetgan", ["add-real", "out", "projection"], cwd=tmp_path)
    with pytest.raises(ConfigError):
        submit(home, "datasetgan", ["train", "out", "--members", "0"], cwd=tmp_path)
    with pytest.raises(ConfigError, match="no step 'fit'"):
        OperatorRequest.from_json({"step": "fit", "inputs": [], "out": "/o", "config": {}}, DATASETGAN)
    assert open_queue(home).list_jobs() == []


def test_a_worker_runs_a_queued_sample_step(stylegan_run, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    home = tmp_path / "home"
    job_id = submit(home, "datasetgan", ["sample", str(stylegan_run), "out", "--num", "2", "--device", "cpu"],
                    cwd=tmp_path)
    ran = run_worker(home, poll=0.05, heartbeat_every=0.2, stale_after=30.0, stop_timeout=10.0, exit_when_idle=True)
    job = open_queue(home).get(job_id)
    assert ran == 1 and job.status is JobStatus.DONE, job.log_path.read_text()[-2000:]
    images = tmp_path / "out" / "annotation" / "images"
    assert sorted(p.name for p in images.iterdir()) == ["0000.png", "0001.png"]
    assert (tmp_path / "out" / "annotation" / "classes.json").is_file()


def test_queued_shards_of_generate_complete_one_selection(annotated, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run_operator(DATASETGAN, (), annotated, tiny(), progress_bar=False)  # the interpreter
    home = tmp_path / "home"
    ids = submit_shards(home, "datasetgan", ["generate", str(annotated), "--num", "6", "--drop-uncertain", "0.25",
                                             "--batch", "2", "--device", "cpu"], shards=2, cwd=tmp_path)
    jobs = open_queue(home)
    assert [jobs.get(i).request["config"]["shard"] for i in ids] == ["1/2", "2/2"]
    ran = run_worker(home, poll=0.05, heartbeat_every=0.2, stale_after=30.0, stop_timeout=10.0, exit_when_idle=True)
    assert ran == 2 and all(jobs.get(i).status is JobStatus.DONE for i in ids), jobs.get(ids[0]).log_path.read_text()
    assert len(read_manifest(annotated / "Data" / "candidates.manifest")) == 8
    assert len(read_manifest(annotated / "output_0.manifest")) == 6
