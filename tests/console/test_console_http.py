"""The console over plain HTTP: file serving stays inside run folders, the token rules, the submit form's
validation, decisions and export, mask uploads, and runs that vanish while their page is open."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.console.conftest import TOKEN, run_id_of

AUTH = {"X-Console-Token": TOKEN}


def test_files_inside_the_run_are_served(client):
    rid = run_id_of(client, "alpha")
    response = client.get(f"/runs/{rid}/files/Data/cats/000000.png")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", [
    "%2e%2e/%2e%2e/secret.json",           # URL-encoded ..
    "Data/%2e%2e/%2e%2e/secret.json",
    "..%2f..%2fsecret.json",               # encoded slash
    "%2Ftmp%2Fsecret.json",                # absolute after decoding
    "Data%5c..%5c..%5csecret.json",        # backslashes
    "Data/cats/%00.png",                   # NUL byte
    "link/secret.json",                    # a symlink out of the run folder
    "escape.json",                         # a symlinked file pointing outside
])
def test_traversal_is_refused(client, runs_dir, tmp_path, path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"secret": 1}')
    (runs_dir / "alpha" / "link").symlink_to(tmp_path, target_is_directory=True)
    (runs_dir / "alpha" / "escape.json").symlink_to(secret)
    rid = run_id_of(client, "alpha")
    response = client.get(f"/runs/{rid}/files/{path}")
    assert response.status_code in (403, 404)
    assert b"secret" not in response.content


def test_raw_dot_dot_over_a_real_socket_is_refused(live_server, tmp_path):
    """A client that does not normalise '..' (curl --path-as-is) reaches the server with it intact."""
    base, app = live_server
    (tmp_path / "runs" / "outside.json").write_text('{"secret": 1}')
    rid = next(r.id for r in app.state.console.runs() if r.root.name == "alpha")
    host, port = base.removeprefix("http://").split(":")
    for raw in (f"/runs/{rid}/files/../outside.json", f"/runs/{rid}/files/Data/../../outside.json",
                f"/runs/{rid}/files//etc/passwd"):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", raw)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status in (403, 404), raw
        assert b"secret" not in body and b"root:" not in body


def test_unknown_run_ids_and_file_types(client):
    assert client.get("/runs/0123456789ab/files/output_0.manifest").status_code == 404
    rid = run_id_of(client, "alpha")
    (Path(client.app.state.console.run(rid).root) / "notes.sh").write_text("echo")
    assert client.get(f"/runs/{rid}/files/notes.sh").status_code == 403


def test_state_changes_need_the_token(client):
    rid = run_id_of(client, "alpha")
    body = {"changes": {"x": "accept"}}
    assert client.post(f"/runs/{rid}/decisions", json=body).status_code == 403
    assert client.post(f"/runs/{rid}/decisions", json=body, headers={"X-Console-Token": "wrong"}).status_code == 403
    assert client.post("/jobs", data={"operator": "stylegan"}).status_code == 403
    assert not (Path(client.app.state.console.run(rid).root) / "curation.json").exists()


def test_loopback_refuses_foreign_host_headers(client):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the console."""
    assert client.get("/jobs", headers={"Host": "evil.example:8080"}).status_code == 403
    assert client.get("/jobs", headers={"Host": "localhost:8080"}).status_code == 200


def test_non_loopback_host_needs_the_token_for_reads(settings):
    import dataclasses

    from starlette.testclient import TestClient

    from ganfactory.console.app import create_app

    public = create_app(dataclasses.replace(settings, host="0.0.0.0"))
    client = TestClient(public, base_url="http://192.0.2.7:8080")
    assert client.get("/jobs").status_code == 401
    first = client.get(f"/jobs?token={TOKEN}")
    assert first.status_code == 200 and "ganfactory_console_token" in first.headers["set-cookie"]
    assert client.get("/runs").status_code == 200  # the cookie now carries the token
    assert TestClient(public, base_url="http://192.0.2.7:8080").get("/jobs?token=nope").status_code == 401


def test_console_command_prints_the_token_url_for_a_public_host(tmp_path):
    """The server's start-up line; the server itself is stopped right after it prints."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd() / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "ganfactory", "console", "--home", str(tmp_path / "h"),
                             "--host", "0.0.0.0", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "?token=" in line and len(line.split("?token=")[1].strip()) >= 24


def test_console_refuses_a_missing_runs_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganfactory", "console", "--runs", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--runs" in result.stderr and "Traceback" not in result.stderr


def test_submit_form_shows_errors_beside_fields_and_queues_valid_jobs(client, runs_dir, tmp_path):
    form = {"operator": "stylegan", "data": str(tmp_path / "missing"), "out": "", "total_kimg": "-1",
            "resolution": "33", "cfg": "small"}
    response = client.post("/jobs", data=form, headers=AUTH)
    assert response.status_code == 422
    text = response.text
    for field in ("data", "out", "total_kimg", "resolution"):
        assert f'data-field="{field}"' in text, field
    assert "power of two" in text and "greater than 0" in text
    seed_error = client.post("/jobs", data={**form, "seed": "-1"}, headers=AUTH).text
    assert '<details open' in seed_error and 'data-field="seed"' in seed_error  # a shared field's error unfolds them
    assert client.app.state.console.queue.list_jobs() == []
    form.update(data=str(runs_dir / "alpha" / "Data"), out=str(tmp_path / "new-run"), total_kimg="2", resolution="32",
                channels="3", seed="5", do_validation="on")
    response = client.post("/jobs", data=form, headers=AUTH)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "jobs-changed"
    [job] = client.app.state.console.queue.list_jobs()
    config = job.request["config"]
    assert (config["total_kimg"], config["cfg"], config["channels"], config["seed"]) == (2, "small", 3, 5)
    assert config["do_validation"] is True and config["mirror"] is False
    assert job.run_folder == (tmp_path / "new-run").resolve()
    assert "new-run" in client.get("/jobs/table").text


def test_form_is_built_from_the_config_model(client):
    text = client.get("/jobs/form?operator=cyclegan").text
    for name in ("source", "target", "max_epoch", "g_learning_rate", "direction", "do_validation"):
        assert f'name="{name}"' in text, name
    assert "Epochs between checkpoints." in text  # a field's description is its help
    assert client.get("/jobs/form?operator=nope").status_code == 404


def test_decisions_are_kept_in_a_sidecar_and_exported(client, runs_dir, tmp_path):
    rid = run_id_of(client, "alpha")
    run = runs_dir / "alpha"
    items = client.app.state.console.items(run.resolve())
    before = {p: p.stat().st_mtime_ns for p in (run / "Data").rglob("*.png")}
    changes = {items[0].id: "accept", items[1].id: "reject", items[4].id: "accept"}
    counts = client.post(f"/runs/{rid}/decisions", json={"changes": changes}, headers=AUTH).json()
    assert counts == {"accept": 2, "reject": 1, "undecided": 3, "total": 6}
    assert client.post(f"/runs/{rid}/decisions", json={"changes": {"nope": "accept"}}, headers=AUTH).status_code == 400
    saved = json.loads((run / "curation.json").read_text())["decisions"]
    assert saved == {items[0].id: "accept", items[1].id: "reject", items[4].id: "accept"}
    out = tmp_path / "curated"
    result = subprocess.run([sys.executable, "-m", "ganfactory", "curate", "export", str(run), str(out)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["cats/000000.png", "dogs/000001.png"]
    lines = [json.loads(line) for line in (out / "output_0.manifest").read_text().splitlines()]
    assert [line["id"] for line in lines] == [items[0].id, items[4].id]
    assert all(Path(line["source"]).is_file() and line["curation"] == "accept" for line in lines)
    assert before == {p: p.stat().st_mtime_ns for p in (run / "Data").rglob("*.png")}  # Data/ untouched
    # exporting again replaces the previous export; a folder of other files is refused
    client.post(f"/runs/{rid}/decisions", json={"changes": {items[4].id: None}}, headers=AUTH)
    assert client.post(f"/runs/{rid}/curate", data={"out": str(out)}, headers=AUTH).status_code == 200
    assert [p.name for p in out.rglob("*.png")] == ["000000.png"]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    refused = client.post(f"/runs/{rid}/curate", data={"out": str(tmp_path / "busy")}, headers=AUTH)
    assert refused.status_code == 422 and (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    inside = client.post(f"/runs/{rid}/curate", data={"out": str(run / "Data" / "x")}, headers=AUTH)
    assert inside.status_code == 422 and not (run / "Data" / "x").exists()


def test_curate_export_without_decisions_is_one_line(runs_dir, tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganfactory", "curate", "export", str(runs_dir / "alpha"),
                             str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "No image" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_gallery_filters_sorts_and_pages(client):
    rid = run_id_of(client, "alpha")
    text = client.get(f"/runs/{rid}/gallery?cls=dogs&sort=seed&desc=1").text
    assert text.count('class="tile') == 3 and text.index("dogs/000002.png") < text.index("dogs/000000.png")
    paged = client.get(f"/runs/{rid}/gallery?page=2").text  # page_size 4: 6 images on 2 pages
    assert paged.count('class="tile') == 2 and "page 2 of 2" in paged


def _png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_mask_uploads_are_checked_before_writing(client, runs_dir):
    rid = run_id_of(client, "labels")
    url = f"/runs/{rid}/annotate/sample_000/mask"
    masks = runs_dir / "labels" / "annotation" / "masks"
    good = np.zeros((16, 16), dtype=np.uint8)
    good[4:8, 4:12] = 1
    good[10:, :] = 2
    bad_cases = [
        (b"not a png at all", "not a PNG"),
        (_png_bytes(np.zeros((8, 16), dtype=np.uint8)), "16x8"),
        (_png_bytes(np.full((16, 16), 7, dtype=np.uint8)), "[7]"),
        (_png_bytes(np.stack([good * 50, good, good], axis=-1)), "not an index mask"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "cannot be decoded"),
    ]
    for body, words in bad_cases:
        response = client.post(url, content=body, headers={**AUTH, "Content-Type": "image/png"})
        assert response.status_code == 422 and words in response.json()["error"], (words, response.text)
    assert not masks.exists() or not any(masks.iterdir())
    huge = client.post(url, content=b"\x89PNG" + b"\0" * (9 * 2**20), headers={**AUTH, "Content-Type": "image/png"})
    assert huge.status_code == 413
    saved = client.post(url, content=_png_bytes(good), headers={**AUTH, "Content-Type": "image/png"})
    assert saved.json() == {"saved": "annotation/masks/sample_000.png", "annotated": 1, "total": 3}
    with Image.open(masks / "sample_000.png") as image:
        assert image.mode == "L" and np.array_equal(np.asarray(image), good)
    assert "1 of 3 annotated" in client.get(f"/runs/{rid}/annotate").text
    response = client.post(f"/runs/{rid}/annotate/..%2f..%2fx/mask", content=_png_bytes(good), headers=AUTH)
    assert response.status_code in (404, 422)


def test_a_run_deleted_while_open_gives_a_message(client, runs_dir):
    rid = run_id_of(client, "alpha")
    assert client.get(f"/runs/{rid}").status_code == 200
    (runs_dir / "alpha" / "logs" / "stats.jsonl").write_text('{"tick": 1, "kimg": 0.1, "loss_G": 1}\n{"tick": 2, "kim')
    assert client.get(f"/runs/{rid}/curves.json").json()["x"] == [0.1]  # a torn last line is skipped
    shutil.rmtree(runs_dir / "alpha")
    page = client.get(f"/runs/{rid}")
    assert page.status_code == 200 and "does not exist" in page.text
    for url in (f"/runs/{rid}/gallery", f"/runs/{rid}/files/Data/cats/000000.png"):
        response = client.get(url)
        assert response.status_code in (404, 409), url
        assert "Traceback" not in response.text


def test_run_page_shows_curves_timeline_and_checkpoints(client, runs_dir):
    run = runs_dir / "alpha"
    (run / "model" / "ckpt-000000040.pt").write_bytes(b"0" * 1024)
    (run / "model" / "latest").write_text("ckpt-000000040.pt")
    (run / "metrics.json").write_text(json.dumps({"overall": {"fid": {"value": 42.5, "low": 40.0, "high": 45.0}}}))
    rid = run_id_of(client, "alpha")
    text = client.get(f"/runs/{rid}").text
    assert "ckpt-000000040.pt" in text and "latest" in text and "42.5 [40, 45]" in text
    assert "kimg 0.4" in text and "fakes_000000040.png" in text
    curves = client.get(f"/runs/{rid}/curves.json").json()
    assert curves["x_name"] == "kimg" and curves["series"]["loss_G"][0] == 1.0
    assert set(curves["series"]) == {"loss_D", "loss_G", "sec_per_kimg"}


def test_export_button_reports_a_run_without_checkpoint(client):
    rid = run_id_of(client, "alpha")
    response = client.post(f"/runs/{rid}/export", headers=AUTH)
    assert response.status_code == 422 and 'class="error"' in response.text and "Traceback" not in response.text
