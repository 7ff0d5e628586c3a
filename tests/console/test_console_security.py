"""The console's security items: every answer escapes what a user or a file supplies, no page runs inline script
(a Content-Security-Policy forbids it) or can be framed, curate export stays inside the run and OUT, a mask's size
is checked before it is decoded, stats.jsonl is parsed once per change and sent downsampled, and impossible job
ids are a 404. Each test failed on the main before these fixes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image, ImageFile
from tests.console.conftest import TOKEN, make_run, run_id_of

from ganfactory.console import runinfo
from ganfactory.console.annotation import decode_mask, read_classes
from ganfactory.console.context import TEMPLATES_DIR
from ganfactory.curation.decisions import Decision, DecisionStore
from ganfactory.curation.export import export_curated
from ganfactory.errors import InputError

AUTH = {"X-Console-Token": TOKEN}
PAYLOAD = "<img src=x onerror=alert(1)>"


def _assert_escaped(text: str) -> None:
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text, text


def test_the_unknown_operator_answer_escapes_the_name(client):
    get = client.get("/jobs/form", params={"operator": PAYLOAD})
    assert get.status_code == 404
    _assert_escaped(get.text)
    post = client.post("/jobs", data={"operator": PAYLOAD}, headers=AUTH)
    assert post.status_code == 400
    _assert_escaped(post.text)


def test_a_run_folder_named_like_markup_is_escaped_in_export_answers(client, runs_dir, tmp_path):
    make_run(runs_dir / PAYLOAD)  # no checkpoint: the export fails with a message naming the folder
    rid = run_id_of(client, PAYLOAD)
    response = client.post(f"/runs/{rid}/export", headers=AUTH)
    assert response.status_code == 422
    _assert_escaped(response.text)
    # the typed OUT folder is echoed in the curate export's answer
    DecisionStore().decide(runs_dir / PAYLOAD, {client.app.state.console.items(runs_dir / PAYLOAD)[0].id:
                                                 Decision.ACCEPT})
    out = tmp_path / PAYLOAD
    response = client.post(f"/runs/{rid}/curate", data={"out": str(out)}, headers=AUTH)
    assert response.status_code == 200 and (out / "output_0.manifest").is_file()
    _assert_escaped(response.text)
    refused = client.post(f"/runs/{rid}/curate", data={"out": str(runs_dir / PAYLOAD / "Data")}, headers=AUTH)
    assert refused.status_code == 422
    _assert_escaped(refused.text)


@pytest.mark.parametrize("path", ["/jobs", "/runs", "/jobs/form?operator=nope", "/static/console.css",
                                  "/runs/nope", "/jobs/1/log"])
def test_every_answer_forbids_inline_script_and_framing(client, path):
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_refusals_carry_the_headers_too(client):
    refused = client.post("/jobs", data={"operator": "stylegan"})  # no token
    assert refused.status_code == 403 and refused.headers["x-frame-options"] == "DENY"


def test_no_template_holds_inline_script_or_handlers():
    for template in TEMPLATES_DIR.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name


def _accept_all(run: Path) -> None:
    from ganfactory.curation.items import load_items

    DecisionStore().decide(run, {item.id: Decision.ACCEPT for item in load_items(run)})


def _rewrite_first_line(run: Path, **changes) -> None:
    manifest = run / "output_0.manifest"
    lines = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    lines[0].update(changes)
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


@pytest.mark.parametrize("case", ["class ../x", "absolute class", "source ../other-run", "source Data/../../..",
                                  "absolute source elsewhere"])
def test_curate_export_refuses_manifest_paths_outside_the_run_or_out(tmp_path, case):
    run = make_run(tmp_path / "runs" / "alpha")
    other = make_run(tmp_path / "runs" / "other-run")
    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(secret)
    changes = {
        "class ../x": {"annotation": [{"name": "../x", "type": "modelarts/image_classification"}]},
        "absolute class": {"annotation": [{"name": str(tmp_path / "abs"), "type": "modelarts/image_classification"}]},
        "source ../other-run": {"source": "../other-run/config.json"},
        "source Data/../../..": {"source": "Data/../../../secret.png"},
        "absolute source elsewhere": {"source": str(other / "Data" / "cats" / "000000.png")},
    }[case]
    _rewrite_first_line(run, **changes)
    _accept_all(run)
    out = tmp_path / "exports" / "curated"
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    if case == "absolute source elsewhere":  # an old run moved here: looked up again under this run's Data/
        result = export_curated(run, out)
        assert result.written == 6 and not (out / ".." / "x").exists()
        copied = json.loads((out / "output_0.manifest").read_text(encoding="utf-8").splitlines()[0])
        assert copied["curated_from"].startswith(str(other)) and Path(copied["source"]).is_relative_to(out)
        return
    with pytest.raises(InputError, match="manifest line of image") as raised:
        export_curated(run, out)
    assert len(str(raised.value).splitlines()) == 1
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert after == before  # nothing written anywhere, OUT included


def test_curate_export_cli_says_the_refusal_in_one_line(tmp_path, in_process):
    run = make_run(tmp_path / "alpha")
    _rewrite_first_line(run, annotation=[{"name": "../escape", "type": "modelarts/image_classification"}])
    _accept_all(run)
    result = in_process("curate", "export", run, tmp_path / "curated")
    assert result.returncode == 2 and not (tmp_path / "escape").exists()
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        result.stderr.strip().splitlines()[-1]]
    assert "would write outside the export folder" in result.stderr


def test_a_mask_of_the_wrong_size_is_refused_before_its_pixels_are_decoded(runs_dir, monkeypatch):
    classes = read_classes(runs_dir / "labels" / "annotation")
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((3000, 3000), dtype=np.uint8)).save(buffer, format="PNG")  # ~9 KB, 9 MPixel
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or load(self))
    with pytest.raises(InputError, match="3000x3000 but its image is 16x16"):
        decode_mask(buffer.getvalue(), size=(16, 16), classes=classes, max_bytes=8 * 2**20)
    assert decoded == []


def _big_stats(run: Path, lines: int) -> None:
    records = ({"tick": t, "kimg": t / 100, "steps": t, "loss_G": 1.0 + (50.0 if t == 54_321 else 0.0),
                "loss_D": 0.5, "lr": 4e-5} for t in range(lines))
    with open(run / "logs" / "stats.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)


def test_stats_are_parsed_once_per_change_and_sent_downsampled(client, runs_dir, monkeypatch):
    _big_stats(runs_dir / "alpha", 100_500)
    parsed: list[Path] = []
    read = runinfo.read_stats
    monkeypatch.setattr(runinfo, "read_stats", lambda path: parsed.append(path) or read(path))
    rid = run_id_of(client, "alpha")
    assert client.get(f"/runs/{rid}").status_code == 200
    response = client.get(f"/runs/{rid}/curves.json")
    assert len(parsed) == 1  # the page and its curves share one parse
    assert len(response.content) < 300_000
    curves = response.json()
    assert curves["downsampled_from"] == 100_500 and len(curves["x"]) <= 2 * runinfo.MAX_BUCKETS
    assert curves["x"][-1] == pytest.approx(1004.99)  # every line is read: the latest tick is the last point
    assert max(curves["series"]["loss_G"]) == pytest.approx(51.0)  # a one-tick spike survives
    with open(runs_dir / "alpha" / "logs" / "stats.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"tick": 100_500, "kimg": 1005.0, "loss_G": 2.0}) + "\n")
    assert client.get(f"/runs/{rid}/curves.json").json()["x"][-1] == pytest.approx(1005.0)
    assert len(parsed) == 2  # a grown file is parsed again


@pytest.mark.parametrize("request_", [("get", "/jobs/99999999999999999999/log"),
                                      ("get", "/jobs/9223372036854775808/log/tail"),
                                      ("post", "/jobs/99999999999999999999/cancel")])
def test_a_job_id_beyond_sqlites_range_is_not_found(client, request_):
    method, path = request_
    response = getattr(client, method)(path, headers=AUTH)
    assert response.status_code == 404


def test_a_crafted_link_runs_no_script_and_queues_no_job(live_server, page):
    """The reported attack: a link from any web page to the console's form with markup in `operator` that reads
    the token from the page and POSTs a job. Nothing of it may run."""
    base, app = live_server
    steal = ("window.__xss = 1; fetch('/jobs', {method: 'POST', headers: {'X-Console-Token': "
             "document.querySelector('meta[name=console-token]').content, 'Content-Type': "
             "'application/x-www-form-urlencoded'}, body: 'operator=stylegan'})")
    payload = f'<img src=x onerror="{steal}"><script>{steal}</script>'
    page.goto(f"{base}/jobs/form?operator={quote(payload)}")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img").count() == 0 and page.locator("script").count() == 0
    assert "&lt;img" in page.content() or "<img src=x" in page.inner_text("body")  # shown as text
    assert app.state.console.queue.list_jobs() == []


def test_a_framed_console_page_is_not_shown(live_server, page):
    base, _ = live_server
    page.set_content(f'<iframe id="victim" src="{base}/jobs" width="600" height="400"></iframe>')
    page.wait_for_timeout(500)
    frame = page.frame_locator("#victim")
    assert frame.locator("text=Jobs").count() == 0  # blocked: no console page inside another site's frame
    page.csp_violations.clear()  # the refused framing is reported as a policy violation, as it should be


def test_an_indexed_colour_mask_upload_reads_as_its_colours(client, runs_dir):
    """A colour mask saved as an indexed PNG (PIL quantize, image editors) means its colours, as in
    `datasetgan train`: palette index 0 painted red is class 1 ("digit"), not class 0."""
    rid = run_id_of(client, "labels")
    labels = np.zeros((16, 16), dtype=np.uint8)
    labels[4:8, :] = 1
    labels[10:, :] = 2
    palette_of_label = {0: (255, 0, 0), 1: (0, 0, 0), 2: (0, 255, 0)}  # indices shuffled against the classes
    indexed = Image.fromarray(np.choose(labels, [1, 0, 2]).astype(np.uint8), mode="P")
    indexed.putpalette([v for index in range(3) for v in palette_of_label[index]])
    buffer = io.BytesIO()
    indexed.save(buffer, format="PNG")
    response = client.post(f"/runs/{rid}/annotate/sample_000/mask", content=buffer.getvalue(),
                           headers={**AUTH, "Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    with Image.open(runs_dir / "labels" / "annotation" / "masks" / "sample_000.png") as saved:
        assert np.array_equal(np.asarray(saved), labels)
