"""Issue 20, "what users expect", in a real headless Chromium (Debian's package, driven by Playwright): a log
scale and time axes on the charts, a large preview of the focused gallery tile (with a translation's source
beside it), and class labels that line up with the rows of StyleGAN's progress grids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.console.conftest import rid_in, screenshot, wait_until
from tests.console.test_console_more_http import T0, _cyclegan_run


def _timed_stats(run: Path, ticks: int, *, start: float = T0, scale: float = 1.0) -> None:
    """Stats lines with the engine's wall clock; `margin` falls through zero (a log axis cannot show it)."""
    lines = [{"tick": t, "kimg": 0.1 * t, "steps": 10 * t, "time": start + 60.0 * t, "sec_per_kimg": 5.0,
              "loss_G": scale * 10.0 ** -t, "loss_D": 0.5 + 0.1 * t, "margin": 2.0 - t} for t in range(1, ticks + 1)]
    (run / "logs" / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")


_SERIES = """(name) => {
    const plot = document.getElementById('curves').plots.find(p => p.series.some(s => s.label === name));
    return {data: plot.data[plot.series.findIndex(s => s.label === name)], x: plot.data[0],
            log: plot.scales.y.distr === 3, time: plot.scales.x.time};
}"""


def test_log_scale_and_time_axes_on_the_run_page(live_server, page, runs_dir):
    _timed_stats(runs_dir / "alpha", 4)
    base, app = live_server
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}")
    wait_until(page, "(document.getElementById('curves').plots || []).length === 3")
    linear = page.evaluate(_SERIES, "loss_G")
    assert not linear["log"] and linear["x"] == [0.1, 0.2, pytest.approx(0.3), 0.4]
    assert page.locator('#x-axis option[value="step"]').inner_text() == "kimg"

    page.locator("#log-scale").check()
    wait_until(page, "document.getElementById('curves').plots.every(p => p.scales.y.distr === 3)")
    logged = page.evaluate(_SERIES, "loss_G")
    assert logged["log"] and logged["data"] == pytest.approx([0.1, 0.01, 0.001, 0.0001])
    assert page.evaluate(_SERIES, "margin")["data"] == [1.0, None, None, None]  # 0 and below: gaps, not clamped
    ticks = page.evaluate("() => document.getElementById('curves').plots[0].axes[1]._values")
    assert [t for t in ticks if t] and all(float(t) > 0 for t in ticks if t), ticks
    page.locator("#smoothing").fill("0.5")  # smoothing still applies on a log axis
    smoothed = page.evaluate(_SERIES, "loss_G")
    assert smoothed["log"] and smoothed["data"][-1] > 0.0001 * 2
    page.locator("#smoothing").fill("0")
    screenshot(page, "run-page-log-scale")

    page.locator("#x-axis").select_option("wall")
    wait_until(page, "document.getElementById('curves').plots[0].scales.x.time === true")
    wall = page.evaluate(_SERIES, "loss_G")
    assert wall["x"] == [T0 + 60, T0 + 120, T0 + 180, T0 + 240] and wall["log"]  # the log scale stays on
    page.locator("#x-axis").select_option("relative")
    wait_until(page, "document.getElementById('curves').plots[0].scales.x.time === false")
    relative = page.evaluate(_SERIES, "loss_G")
    assert relative["x"] == [0, 60, 120, 180]
    labels = page.evaluate("() => document.getElementById('curves').plots[0].axes[0]._values")
    units = {label.split(" ")[-1] for label in labels if label}
    assert units in ({"s"}, {"min"}), labels  # durations, every tick in one unit (not "100 s, 2 min, 2.33 min")
    screenshot(page, "run-page-log-scale-relative-time")


def test_runs_without_a_clock_offer_no_time_axis(live_server, page):
    base, app = live_server  # the fixture's stats lines have no "time"
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}")
    wait_until(page, "(document.getElementById('curves').plots || []).length === 2")
    assert page.locator('#x-axis option[value="wall"]').is_disabled()
    assert page.locator("#x-axis-note").is_visible()


def test_compare_with_time_axes_keeps_one_colour_per_run(live_server, page, runs_dir):
    from tests.console.conftest import make_run

    _timed_stats(runs_dir / "alpha", 4)
    _timed_stats(make_run(runs_dir / "beta"), 3, start=T0 + 3600, scale=2.0)  # started an hour later
    base, app = live_server
    page.goto(f"{base}/compare?run={rid_in(app, 'alpha')}&run={rid_in(app, 'beta')}")
    wait_until(page, "(document.getElementById('compare-curves').plots || []).length === 3")
    page.locator("#x-axis").select_option("relative")
    page.locator("#log-scale").check()
    wait_until(page, "document.getElementById('compare-curves').plots.every(p => p.scales.y.distr === 3)")
    result = page.evaluate("""() => {
        const plots = document.getElementById('compare-curves').plots, strokes = {};
        plots.forEach(p => p.series.slice(1).forEach((s, i) => {
            const run = s.label.split(' ')[0];
            (strokes[run] = strokes[run] || []).push(s.stroke(p, i + 1));
        }));
        return {x: plots[0].data[0], strokes: strokes};
    }""")
    assert result["x"] == [0, 60, 120, 180]  # both runs from their own first tick
    assert len(set(result["strokes"]["alpha"])) == 1 and len(set(result["strokes"]["beta"])) == 1
    assert result["strokes"]["alpha"] != result["strokes"]["beta"]
    screenshot(page, "compare-log-scale-relative-time")


def _grid(path: Path, *, rows: int, columns: int, tile: int, padding: int = 2) -> None:
    """A progress grid laid out as output.images.make_grid lays it out: each row a lighter grey."""
    height, width = rows * (tile + padding) + padding, columns * (tile + padding) + padding
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    for r in range(rows):
        top = padding + r * (tile + padding)
        pixels[top:top + tile, padding:width - padding] = 40 + (200 * r) // rows
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


@pytest.mark.parametrize("classes", [["cats", "dogs", "birds"], [f"class {i:02d}" for i in range(16)]])
def test_grid_rows_are_labelled_with_their_classes(live_server, page, runs_dir, classes):
    run = runs_dir / "alpha"
    for old in (run / "samples").glob("*.png"):
        old.unlink()
    columns = 8 if len(classes) < 8 else 4
    _grid(run / "samples" / "fakes_000000040.png", rows=len(classes), columns=columns, tile=16)
    (run / "config.json").write_text(json.dumps({"operator": "stylegan", "resolved": {
        "classes": classes, "grid_rows": classes}}), encoding="utf-8")
    base, app = live_server
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}")
    wait_until(page, "document.getElementById('timeline-image').naturalWidth > 0")
    layout = page.evaluate("""() => {
        const image = document.getElementById('timeline-image'), box = image.getBoundingClientRect();
        const labels = Array.from(document.querySelectorAll('#grid-rows li')).map(li => {
            const b = li.getBoundingClientRect(); return [li.textContent, b.top + b.height / 2, b.right]; });
        return {top: box.top + 1, left: box.left, scale: (box.height - 2) / image.naturalHeight, labels: labels};
    }""")
    assert [label[0] for label in layout["labels"]] == classes
    for r, (_, middle, right) in enumerate(layout["labels"]):
        row_middle = layout["top"] + (2 + r * 18 + 8) * layout["scale"]  # tile 16, padding 2
        assert abs(middle - row_middle) <= 1.5 + layout["scale"], (r, middle, row_middle)  # within a padding
        assert right <= layout["left"] + 1  # beside the image, not over it
    if len(classes) == 3:
        screenshot(page, "run-page-grid-class-labels")


_PREVIEW = """() => {
    const preview = document.getElementById('preview'), image = document.getElementById('preview-image');
    const rows = Array.from(document.querySelectorAll('#preview-fields tr'))
        .map(r => [r.cells[0].textContent, r.cells[1].textContent]);
    const box = image.getBoundingClientRect();
    return {id: preview.dataset.id, src: image.getAttribute('src'), loaded: image.complete && image.naturalWidth > 0,
            width: box.width, height: box.height, fields: Object.fromEntries(rows),
            caption: document.getElementById('preview-caption').textContent,
            source: !document.getElementById('preview-source').hidden};
}"""


def test_the_focused_tile_is_previewed_large_with_its_fields(live_server, page):
    base, app = live_server
    page.goto(f"{base}/runs/{rid_in(app, 'alpha')}/gallery?page=1")
    tiles = page.locator(".tile")
    ids = page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.dataset.id)")
    wait_until(page, "document.getElementById('preview-image').naturalWidth > 0")
    first = page.evaluate(_PREVIEW)
    assert first["id"] == ids[0] and first["src"] == tiles.nth(0).locator("img").get_attribute("src")
    assert first["loaded"] and first["width"] == first["height"] == 256 and not first["source"]
    page.keyboard.press("ArrowRight")
    wait_until(page, f"document.getElementById('preview').dataset.id === {json.dumps(ids[1])}")
    second = page.evaluate(_PREVIEW)
    assert second["src"] == tiles.nth(1).locator("img").get_attribute("src")
    assert second["fields"]["seed"] == "1" and second["fields"]["id"] == ids[1] and "cats" in second["caption"]
    assert second["fields"]["source"].endswith("Data/cats/000001.png")
    page.locator(".tile").nth(3).click()
    wait_until(page, f"document.getElementById('preview').dataset.id === {json.dumps(ids[3])}")
    assert page.evaluate(_PREVIEW)["fields"]["class_index"] == "1"
    screenshot(page, "gallery-preview")


def test_a_translation_is_previewed_beside_its_source(live_server, page, runs_dir, tmp_path):
    _, ids = _cyclegan_run(tmp_path, runs_dir)
    base, app = live_server
    page.goto(f"{base}/runs/{rid_in(app, 'h2z')}/gallery?page=1")
    page.locator(f'.tile[data-id="{ids["inside"]}"]').click()
    wait_until(page, "document.getElementById('preview-source-image').naturalWidth > 0")
    boxes = page.evaluate("""() => ['preview-source-image', 'preview-image'].map(id => {
        const b = document.getElementById(id).getBoundingClientRect(); return [b.left, b.top, b.width]; })""")
    (source_left, source_top, source_width), (image_left, image_top, _) = boxes
    assert source_width == 256 and source_top == image_top and image_left >= source_left + 256  # side by side
    assert page.locator("#preview-source-name").inner_text() == "h1.png"
    assert not page.locator("#preview-source-missing").is_visible()
    screenshot(page, "gallery-cyclegan-source-beside-translation")
    page.locator(f'.tile[data-id="{ids["outside"]}"]').click()  # outside the run and its inputs: named only
    wait_until(page, f"document.getElementById('preview').dataset.id === {json.dumps(ids['outside'])}")
    assert page.locator("#preview-source-name").inner_text() == "s.png"
    assert page.locator("#preview-source-missing").is_visible()
    assert not page.locator("#preview-source-image").is_visible()
    assert page.evaluate("document.getElementById('preview-source-image').getAttribute('src')") is None
