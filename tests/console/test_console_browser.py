"""The console in a real headless Chromium (Debian's package, driven by Playwright): submit a job through the
form, watch a running job's progress change, curate by keyboard and export, paint a mask, traversal refused."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from tests.console.conftest import rid_in

from ganfactory.engine.stats import write_progress
from ganfactory.operators.datasetgan.annotations import read_mask
from ganfactory.operators.datasetgan.classes import read_classes


def test_submit_a_job_through_the_form(live_server, page, runs_dir, tmp_path):
    base, app = live_server
    page.goto(f"{base}/jobs")
    page.fill("#f-data", str(runs_dir / "alpha" / "Data"))
    page.fill("#f-out", str(tmp_path / "browser-run"))
    page.fill("#f-total_kimg", "-3")
    page.click("#submit-form button[type=submit]")
    page.wait_for_selector('.field-error[data-field="total_kimg"]')
    assert app.state.console.queue.list_jobs() == []
    page.fill("#f-total_kimg", "0.5")
    page.select_option("#f-cfg", "small")
    page.click("#submit-form button[type=submit]")
    page.wait_for_selector("text=Queued job 1.")
    page.wait_for_selector("#job-1 >> text=queued")  # the table refreshed without a reload
    [job] = app.state.console.queue.list_jobs()
    assert job.request["config"]["total_kimg"] == 0.5 and job.request["config"]["cfg"] == "small"


def test_a_running_jobs_progress_updates_live(live_server, page, runs_dir, tmp_path):
    base, app = live_server
    queue = app.state.console.queue
    run = tmp_path / "live-run"
    job_id = queue.submit(operator="stylegan", args=[str(runs_dir), str(run)], run_folder=run, cwd=tmp_path)
    claimed = queue.claim_next("test-worker")
    assert claimed is not None and claimed.id == job_id
    (run / "logs").mkdir(parents=True)
    write_progress(run / "logs", unit="kimg", done=1.0, total=10.0, sec_per_unit=6.0, phase="training")
    page.goto(f"{base}/jobs")
    row = page.locator(f"#job-{job_id}")
    row.locator("text=1/10 kimg").wait_for()
    assert row.locator(".status").inner_text() == "running"
    assert row.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "10"
    write_progress(run / "logs", unit="kimg", done=6.5, total=10.0, sec_per_unit=6.0, phase="training")
    row.locator("text=6.5/10 kimg").wait_for()  # polled, no reload
    assert row.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "65"
    assert row.locator(".eta").inner_text().endswith("s")


def test_curate_by_keyboard_and_export(live_server, page, runs_dir):
    base, app = live_server
    run = runs_dir / "alpha"
    rid = rid_in(app, "alpha")
    page.goto(f"{base}/runs/{rid}/gallery?page=1")
    tiles = page.locator(".tile")
    assert tiles.count() == 4  # page_size 4 of 6 images
    ids = [tiles.nth(i).get_attribute("data-id") for i in range(4)]
    for key, saved in (("a", "1"), ("r", "2"), ("ArrowRight", None), ("a", "3")):
        page.keyboard.press(key)
        if saved:
            page.wait_for_selector(f"#gallery[data-saved='{saved}']", state="attached")
    assert [tiles.nth(i).get_attribute("data-decision") for i in range(4)] == ["accept", "reject", "", "accept"]
    decisions = json.loads((run / "curation.json").read_text())["decisions"]
    assert decisions == {ids[0]: "accept", ids[1]: "reject", ids[3]: "accept"}
    assert page.locator('[data-count="accept"]').inner_text() == "2"
    out = run / "curated"
    page.fill('input[name="out"]', str(out))
    page.click("#curate-export")
    page.wait_for_selector("#export-done")
    exported = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    sources = {json.loads(line)["id"] for line in (out / "output_0.manifest").read_text().splitlines()}
    assert len(exported) == 2 and sources == {ids[0], ids[3]}
    assert len(list((run / "Data").rglob("*.png"))) == 6  # nothing moved or deleted


def test_paint_a_mask_and_read_it_back(live_server, page, runs_dir):
    base, app = live_server
    rid = rid_in(app, "labels")
    page.goto(f"{base}/runs/{rid}/annotate/sample_001")
    canvas = page.locator("#overlay")
    canvas.wait_for()
    box = canvas.bounding_box()
    scale = box["width"] / 16  # 16x16 image shown zoomed
    page.keyboard.press("2")  # class 1 ("digit"), the first key is class index 0
    page.select_option("#tool", "brush")
    page.locator("#brush-size").fill("1")
    page.mouse.move(box["x"] + 2.5 * scale, box["y"] + 3.5 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 12.5 * scale, box["y"] + 3.5 * scale, steps=5)
    page.mouse.up()
    page.keyboard.press("3")  # class 2, flood fill the background
    page.select_option("#tool", "fill")
    page.mouse.click(box["x"] + 8.5 * scale, box["y"] + 12.5 * scale)
    page.keyboard.press("Control+z")  # undo the fill
    page.select_option("#tool", "fill")
    page.mouse.click(box["x"] + 8.5 * scale, box["y"] + 14.5 * scale)
    page.click("#save")
    page.wait_for_selector("text=Saved annotation/masks/sample_001.png")
    assert page.locator("#annotated-progress").inner_text() == "1 of 3 annotated"
    folder = runs_dir / "labels" / "annotation"
    with Image.open(folder / "masks" / "sample_001.png") as image:
        assert image.mode == "L" and image.size == (16, 16)
    # What `datasetgan train` reads: the same reader, the same classes.json.
    mask = read_mask(folder / "masks" / "sample_001.png", classes=read_classes(folder / "classes.json"), size=16)
    # The stroke is class 1 on row 3 from x=2 to 12; the fill turned every other pixel into class 2.
    assert set(np.unique(mask).tolist()) == {1, 2}
    assert (mask[3, 2:13] == 1).all() and mask.sum() == 11 * 1 + (256 - 11) * 2


def test_traversal_in_the_browser_is_refused(live_server, page, tmp_path):
    base, app = live_server
    rid = rid_in(app, "alpha")
    (tmp_path / "secret.json").write_text('{"secret": 1}')
    # The browser resolves '..' and '%2e%2e' segments itself; an encoded slash keeps them for the server.
    response = page.goto(f"{base}/runs/{rid}/files/%2e%2e%2f%2e%2e%2fsecret.json")
    assert response.status == 403 and '"secret"' not in page.content()
    normalised = page.goto(f"{base}/runs/{rid}/files/../../../secret.json")
    assert normalised.status == 404 and '"secret"' not in page.content()
