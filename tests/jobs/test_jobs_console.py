"""The web console's jobs pages against both queue backends (the console opens the queue through --queue)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganfactory.jobs.model import JobStatus

TOKEN = "test-token-0123456789"
AUTH = {"X-Console-Token": TOKEN}


@pytest.fixture
def client(home: Path, queue_url: str | None, tmp_path: Path):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from ganfactory.console.app import create_app
    from ganfactory.console.settings import ConsoleSettings

    settings = ConsoleSettings(home=home, queue=queue_url, run_roots=(), token=TOKEN, poll_ms=300)
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8080")


def test_console_lists_cancels_and_retries_jobs_on_either_backend(client, queue, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANFACTORY_QUEUE", raising=False)  # the console must use its own --queue setting
    out = tmp_path / "run-a"
    job_id = queue.submit(operator="stylegan", args=["data", str(out)], run_folder=out, cwd=tmp_path)
    queue.submit(operator="stylegan", args=["data", str(tmp_path / "run-b")], run_folder=tmp_path / "run-b",
                 cwd=tmp_path)
    claimed = queue.claim_next("w", host="gpu-box-7", gpu="NVIDIA H100")
    assert claimed.id == job_id
    table = client.get("/jobs/table").text
    assert f'id="job-{job_id}"' in table and "gpu-box-7 (NVIDIA H100)" in table
    assert client.post(f"/jobs/{job_id}/cancel", headers=AUTH).status_code == 200
    assert queue.get(job_id).cancel_requested
    queue.finish(job_id, lease=claimed.lease, status=JobStatus.CANCELLED, error="cancelled", exit_code=75)
    assert client.post(f"/jobs/{job_id}/retry", headers=AUTH).status_code == 200
    assert queue.get(job_id).status is JobStatus.QUEUED
    assert client.get(f"/jobs/{job_id}/log").status_code == 200
    assert client.get("/jobs/999999/log").status_code == 404
