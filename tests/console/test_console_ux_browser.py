"""The console kept open in a real headless Chromium (Debian's package, driven by Playwright), issue 20 "broken
for users": axis ticks of small values, a job log and a run page that follow a running job, DatasetGAN steps from
the form, keyboard focus that survives the Jobs table's refresh, and curation of a whole page with an undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.console.conftest import _png, rid_in, screenshot, wait_until


def _append_stats(run: Path, ticks: range, **extra: float) -> None:
    with (run / "logs" / "stats.jsonl").open("a", encoding="utf-8") as handle:
        for t in ticks:
            handle.write(json.dumps({"tick": t, "kimg": 0.1 * t, "steps": 10 * t, "sec_per_kimg": 5.0,
                                     "loss_G": 1.0 / t, "loss_D": 0.5 + 0.1 * t, **extra}) + "\n")


def _axis_ticks(page, series: str) -> list[str]:
    """The y-axis tick labels uPlot drew (on a canvas) for the chart holding `series`."""
    return page.evaluate("""(name) => {
        const plot = document.getElementById("curves").plots.find(p => p.series.some(s => s.label === name));
        return plot.axes[1]._values;
    }""", series)


def test_small_values_get_significant_tick_labels(live_server, page, runs_dir):
    """Item 14: a learning rate of 4e-05 labelled its axis "0 0 0 0"."""
    run = runs_dir / "alpha"
    (run / "logs" / "stats.jsonl").write_text("")
    _append_stats(run, range(1, 9))
    with (run / "logs" / "stats.jsonl").open("a", encoding="utf-8") as handle:
        for t in range(9, 13):
            handle.write(json.dumps({"tick": t, "kimg": 0.1 * t, "lr": 4e-05 + 1e-06 * t}) + "\n")
    base, app = live_server
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}")
    wait_until(page, "document.getElementById('curves').plots && document.getElementById('curves').plots.length >= 2")
    ticks = [t for t in _axis_ticks(page, "lr") if t]
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks  # distinct labels, no "0 0 0 0"
    assert all(abs(float(t) - 4.6e-05) < 1e-05 for t in ticks), ticks
    losses = [t for t in _axis_ticks(page, "loss_G") if t]
    assert len(set(losses)) == len(losses) and all(abs(float(t)) < 10 for t in losses), losses
    screenshot(page, "item14-small-ticks")


def _claim(queue, job_id: int):
    claimed = queue.claim_next("test-worker")
    assert claimed is not None and claimed.id == job_id
    return claimed


def _finish(queue, claimed) -> None:
    from ganfactory.jobs.model import JobStatus

    queue.finish(claimed.id, lease=claimed.lease, status=JobStatus.DONE, error=None, exit_code=0)


def _requests_to(page, part: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if part in request.url else None)
    return seen


def test_the_log_heading_follows_the_job_and_stops_when_it_ends(live_server, page, tmp_path):
    """Item 11: the heading said "queued" while the job ran and after it ended."""
    base, app = live_server
    queue = app.state.console.queue
    job_id = queue.submit(operator="stylegan", args=[str(tmp_path), str(tmp_path / "run")],
                          run_folder=tmp_path / "run", cwd=tmp_path)
    tails = _requests_to(page, f"/jobs/{job_id}/log/tail")
    page.goto(f"{base}/jobs/{job_id}/log")
    assert page.locator("h1 .status").inner_text() == "queued"
    claimed = _claim(queue, job_id)
    claimed.log_path.parent.mkdir(parents=True, exist_ok=True)
    claimed.log_path.write_text("tick 1\n", encoding="utf-8")
    page.wait_for_selector("h1 .status.status-running >> text=running")
    page.locator("#log >> text=tick 1").wait_for()
    assert "following" in page.locator("#log-following").inner_text()
    _finish(queue, claimed)
    page.wait_for_selector("h1 .status.status-done >> text=done")
    assert "following" not in page.locator("#log-following").inner_text()
    count = len(tails)
    page.wait_for_timeout(1200)  # four polling periods (poll_ms 300): no request after the job ended
    assert len(tails) == count
    screenshot(page, "item11-log-heading")


def test_the_run_page_follows_a_running_job(live_server, page, runs_dir, tmp_path):
    """Item 12: opened before the first tick, the page gains curves, grids, checkpoints and metrics without a
    reload while the job runs, and stops polling when it ends."""
    from ganfactory.console.runs import run_id

    base, app = live_server
    queue = app.state.console.queue
    run = tmp_path / "live"  # a queued job's run folder does not exist yet
    job_id = queue.submit(operator="stylegan", args=[str(runs_dir), str(run)], run_folder=run, cwd=tmp_path)
    polls = _requests_to(page, "/live")
    page.goto(f"{base}/runs/{run_id(run)}")
    page.evaluate("window.notReloaded = true")
    assert page.locator("#curves-empty").is_visible() and page.locator("#timeline-empty").is_visible()
    assert page.locator("#run-links >> text=does not exist").is_visible()
    claimed = _claim(queue, job_id)
    (run / "logs").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"operator": "stylegan"}), encoding="utf-8")
    page.locator("#run-links >> text=does not exist").wait_for(state="detached")
    page.locator("#run-setup pre.config").wait_for()  # the config written at the start
    assert '"operator": "stylegan"' in page.locator("#run-setup pre.config").inner_text()

    _append_stats(run, range(1, 4))
    _png(run / "samples" / "fakes_000000030.png", 90, size=16)
    page.wait_for_selector('#curves[data-points="3"]')
    page.locator("#timeline-count >> text=(1 grids)").wait_for()
    assert not page.locator("#curves-empty").is_visible()
    assert page.locator("#timeline-label").inner_text() == "kimg 0.3"

    _append_stats(run, range(4, 7))
    _png(run / "samples" / "fakes_000000060.png", 200, size=16)
    (run / "model" / "ckpt-000000060.pt").parent.mkdir(exist_ok=True)
    (run / "model" / "ckpt-000000060.pt").write_bytes(b"0" * 2048)
    (run / "metrics.json").write_text(json.dumps({"overall": {"kid": {"value": 0.0123}}}), encoding="utf-8")
    page.wait_for_selector('#curves[data-points="6"]')
    page.locator("#timeline-count >> text=(2 grids)").wait_for()
    page.locator("#run-checkpoints >> text=ckpt-000000060.pt").wait_for()
    page.locator("#run-metrics >> text=0.0123").wait_for()
    assert page.locator("#timeline-image").get_attribute("src").endswith("samples/fakes_000000060.png")
    assert page.locator("#timeline-label").inner_text() == "kimg 0.6"
    assert page.evaluate("document.getElementById('curves').plots[0].data[0].length") == 6
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "item12-run-page-mid-training")

    (run / "output_0.manifest").write_text("", encoding="utf-8")  # generation done: the gallery opens
    page.locator("#run-links >> text=Gallery and curation").wait_for()
    _finish(queue, claimed)
    page.wait_for_timeout(900)  # the answer after the end comes with 286: polling stops
    count = len(polls)
    _append_stats(run, range(7, 9))
    page.wait_for_timeout(1200)
    assert len(polls) == count and page.locator("#curves").get_attribute("data-points") == "6"


def test_submit_a_datasetgan_step_from_the_form(live_server, page, runs_dir):
    """Item 15: pick the operator, then the step; the form shows that step's own fields and queues it."""
    base, app = live_server
    page.goto(f"{base}/jobs")
    page.select_option("#operator-select", "datasetgan")
    page.wait_for_selector("#f-step")
    assert page.locator("#f-step").input_value() == "sample" and page.locator("#f-run").is_visible()
    page.select_option("#f-step", "evaluate")
    page.wait_for_selector("#f-real_test")
    assert page.locator("#f-members").count() == 0 and page.locator("#f-run").count() == 0
    page.select_option("#f-step", "train")
    page.wait_for_selector("#f-members")
    assert page.locator("#f-run").count() == 0 and page.locator("#f-real_test").count() == 0
    page.fill("#f-out", str(runs_dir / "labels"))
    page.fill("#f-members", "3")
    screenshot(page, "item15-datasetgan-step-form")
    page.click("#submit-form button[type=submit]")
    page.wait_for_selector("text=Queued job 1.")
    page.wait_for_selector("#job-1 >> text=queued")
    [job] = app.state.console.queue.list_jobs()
    assert list(job.args) == ["train", str(runs_dir / "labels"), "--members", "3"]
    assert job.request["step"] == "train" and job.operator == "datasetgan"
    assert page.locator("#f-step").input_value() == "train"  # the fresh form stays on the step


def test_keyboard_focus_survives_the_jobs_tables_refresh(live_server, page, tmp_path):
    """Item 16a: the table is refreshed every poll; the focused link or button must stay focused."""
    base, app = live_server
    queue = app.state.console.queue
    for name in ("one", "two"):
        queue.submit(operator="stylegan", args=[str(tmp_path), str(tmp_path / name)], run_folder=tmp_path / name,
                     cwd=tmp_path)
    refreshes = _requests_to(page, "/jobs/table")
    page.goto(f"{base}/jobs")
    page.locator("#job-1 a >> text=log").focus()
    seen = len(refreshes)
    page.wait_for_timeout(1300)  # poll_ms 300: several refreshes
    assert len(refreshes) >= seen + 2
    focused = ("[document.activeElement.closest('tr') && document.activeElement.closest('tr').id, "
               "document.activeElement.textContent]")
    assert page.evaluate(focused) == ["job-1", "log"]
    page.keyboard.press("Tab")  # and Tab goes on from there
    page.wait_for_timeout(700)
    assert page.evaluate(focused) == ["job-1", "cancel"]


_FOCUS = """() => {
    const outlined = Array.from(document.querySelectorAll('.tile.focus')).map(t => t.dataset.id);
    const active = document.activeElement.closest('.tile');
    return [outlined, active ? active.dataset.id : null];
}"""


def test_the_gallery_has_one_focused_tile(live_server, page):
    """Item 16b: the blue outline (arrow keys) and the keyboard focus (Tab, a clicked button) were two tiles."""
    base, app = live_server
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}/gallery?page=1")
    ids = page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.dataset.id)")
    page.locator(".tile").nth(0).locator('button[data-act="accept"]').click()
    wait_until(page, "document.getElementById('gallery').dataset.saved === '1'")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(_FOCUS) == [[ids[2]], ids[2]]
    page.keyboard.press("Tab")  # onto the focused tile's first button: still that tile
    assert page.evaluate(_FOCUS) == [[ids[2]], ids[2]]
    for _ in range(2):  # past its second button into the next tile
        page.keyboard.press("Tab")
    assert page.evaluate(_FOCUS) == [[ids[3]], ids[3]]
    page.keyboard.press("a")  # decides the tile Tab reached, and moves on
    wait_until(page, "document.getElementById('gallery').dataset.saved === '2'")
    assert page.locator(f'.tile[data-id="{ids[3]}"]').get_attribute("data-decision") == "accept"


def test_deciding_a_whole_page_asks_first_and_can_be_undone(live_server, page, runs_dir):
    """Item 16c: A/R decided every tile of the page with no confirmation and no undo."""
    base, app = live_server
    decisions = runs_dir / "alpha" / "curation.json"
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}/gallery?page=1")
    tiles = page.locator(".tile")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.keyboard.press("A")
    page.wait_for_timeout(300)
    assert asked and "all 4 images" in asked[0]
    assert not decisions.exists() and [tiles.nth(i).get_attribute("data-decision") for i in range(4)] == [""] * 4
    page.keyboard.press("r")  # one decision first, to undo back to
    wait_until(page, "document.getElementById('gallery').dataset.saved === '1'")
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("A")
    wait_until(page, "document.getElementById('gallery').dataset.saved === '2'")
    assert [tiles.nth(i).get_attribute("data-decision") for i in range(4)] == ["accept"] * 4
    assert page.locator("#undo").inner_text() == "Undo 4 decision(s) (z)"
    screenshot(page, "item16-gallery-after-accept-page")
    page.keyboard.press("z")  # the whole page goes back to what it was: one reject, three undecided
    wait_until(page, "document.getElementById('gallery').dataset.saved === '3'")
    assert [tiles.nth(i).get_attribute("data-decision") for i in range(4)] == ["reject", "", "", ""]
    assert list(json.loads(decisions.read_text())["decisions"].values()) == ["reject"]
    assert page.locator('[data-count="accept"]').inner_text() == "0"
    page.click("#undo")  # and the single decision before it
    wait_until(page, "document.getElementById('gallery').dataset.saved === '4'")
    assert json.loads(decisions.read_text())["decisions"] == {}
    assert page.locator("#undo").is_disabled()


def test_smoothing_slider_and_one_colour_per_run_when_comparing(live_server, page, runs_dir):
    """Beyond the items: TensorBoard's smoothing slider; on the compare page every curve of a run has its colour."""
    from tests.console.conftest import make_run

    beta_run = make_run(runs_dir / "beta")
    (beta_run / "logs" / "stats.jsonl").write_text("".join(json.dumps(
        {"tick": t, "kimg": 0.1 * t, "steps": 10 * t, "sec_per_kimg": 4.0, "loss_G": 0.6 / t, "loss_D": 0.9 - 0.1 * t})
        + "\n" for t in range(1, 6)), encoding="utf-8")
    base, app = live_server
    alpha, beta = rid_in(app, "alpha"), rid_in(app, "beta")
    page.goto(f"{base}/compare?run={alpha}&run={beta}")
    wait_until(page, "(document.getElementById('compare-curves').plots || []).length === 2")
    strokes = page.evaluate("""() => {
        const out = {};
        document.getElementById('compare-curves').plots.forEach(p => p.series.slice(1).forEach((s, i) => {
            const run = s.label.split(' ')[0];
            (out[run] = out[run] || []).push(s.stroke(p, i + 1));
        }));
        return out;
    }""")
    assert set(strokes) == {"alpha", "beta"} and len(strokes["alpha"]) == 3
    assert len(set(strokes["alpha"])) == 1 and len(set(strokes["beta"])) == 1 and strokes["alpha"] != strokes["beta"]
    screenshot(page, "compare-two-runs-colours")

    page.goto(f"{base}/runs/{alpha}")
    wait_until(page, "(document.getElementById('curves').plots || []).length === 2")
    loss_g = ("(() => { const p = document.getElementById('curves').plots[0]; "
              "const i = p.series.findIndex(s => s.label === 'loss_G'); return p.data[i]; })()")
    raw = page.evaluate(loss_g)
    assert raw == [1.0, 0.5, pytest.approx(1 / 3), 0.25]
    page.locator("#smoothing").fill("0.9")
    smoothed = page.evaluate(loss_g)
    assert smoothed[0] == pytest.approx(1.0) and smoothed[-1] > raw[-1] + 0.1  # lags behind a falling loss
    assert page.locator("#smoothing-value").inner_text() == "0.9"
