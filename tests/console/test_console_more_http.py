"""Issue 20, "what users expect", over plain HTTP: the curves carry the wall clock (the time axes), small
checkpoints read in KiB, and StyleGAN's progress grids are labelled with the class of each row. The browser side
is in test_console_more_browser.py."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from ganfactory.console import runinfo
from tests.console.conftest import run_id_of

T0 = 1_765_000_000.0  # a wall clock (seconds since the epoch)


def _write_stats(run: Path, ticks: int) -> None:
    lines = [{"tick": t, "kimg": 0.1 * t, "steps": 10 * t, "loss_G": 1.0 / t, "time": T0 + 60.0 * t}
             for t in range(1, ticks + 1)]
    (run / "logs" / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")


def test_curves_carry_the_wall_clock_beside_kimg(client, runs_dir):
    _write_stats(runs_dir / "alpha", 4)
    curves = client.get(f"/runs/{run_id_of(client, 'alpha')}/curves.json").json()
    assert curves["x"] == [0.1, 0.2, 0.30000000000000004, 0.4]
    assert curves["time"] == [T0 + 60, T0 + 120, T0 + 180, T0 + 240]
    assert "time" not in curves["series"]  # an axis, not a curve


def test_stats_without_a_clock_have_no_time_axis(client):
    curves = client.get(f"/runs/{run_id_of(client, 'alpha')}/curves.json").json()  # the fixture's lines: no time
    assert curves["x"] and "time" not in curves and "time" not in curves["series"]


def test_downsampled_curves_keep_the_clock_of_the_points_they_keep():
    records = [{"kimg": i / 10, "loss": float(i % 7), "time": T0 + i} for i in range(5000)]
    curves = runinfo.downsample(runinfo.curve_series(records), buckets=50)
    assert len(curves["time"]) == len(curves["x"]) == 100
    assert [round(t - T0) for t in curves["time"]] == [round(x * 10) for x in curves["x"]]


def test_small_checkpoints_show_their_size_in_kib(client, runs_dir):
    model = runs_dir / "alpha" / "model"
    (model / "ckpt-000000040.pt").write_bytes(b"\0" * 3000)  # a tiny test run's checkpoint
    (model / "generator.onnx").write_bytes(b"\0" * (3 * 2**20 + 2**19))
    (model / "latest").write_text("ckpt-000000040.pt")
    page = client.get(f"/runs/{run_id_of(client, 'alpha')}").text
    assert "0.0 MiB" not in page and "0.0 MiB" not in unescape(page)
    assert re.search(r"ckpt-000000040\.pt</a></td><td>2\.9 KiB</td>", page), page
    assert re.search(r"generator\.onnx</a></td><td>3\.5 MiB</td>", page)
    assert [runinfo.size_text(n) for n in (0, 1023, 1024, 2**20 - 1, 2**20, 5 * 2**30)] == [
        "0 B", "1023 B", "1.0 KiB", "1024.0 KiB", "1.0 MiB", "5.00 GiB"]


def _labels(page: str) -> list[str]:
    block = re.search(r'<ol class="grid-rows"[^>]*>(.*?)</ol>', page, re.DOTALL)
    return [unescape(name) for name in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1))] if block else []


def test_progress_grids_are_labelled_with_the_class_of_each_row(client, runs_dir):
    config = runs_dir / "alpha" / "config.json"
    rid = run_id_of(client, "alpha")
    classes = [f"class <{i}>" for i in range(20)]
    config.write_text(json.dumps({"operator": "stylegan", "resolved": {"classes": classes, "grid_rows": classes[:16]}}))
    page = client.get(f"/runs/{rid}").text
    assert _labels(page) == classes[:16]  # the grid's 16 rows, in class order, escaped
    assert "repeat(16, 1fr)" in page and "class <0>" not in page
    # a run written before config.json named the rows: its classes (a conditional run has two or more)
    config.write_text(json.dumps({"operator": "stylegan", "resolved": {"classes": ["cats", "dogs"]}}))
    assert _labels(client.get(f"/runs/{rid}").text) == ["cats", "dogs"]
    # an unconditional grid (8 x 8 seeds) and other operators' grids have no class rows
    for data in ({"operator": "stylegan", "resolved": {"classes": ["pets"], "grid_rows": []}},
                 {"operator": "stylegan", "resolved": {"classes": ["pets"]}},
                 {"operator": "cyclegan", "resolved": {"classes": ["a", "b"]}}):
        config.write_text(json.dumps(data))
        page = client.get(f"/runs/{rid}").text
        assert _labels(page) == [] and 'class="grid-rows"' not in page, data


def test_the_console_knows_stylegans_grid_rows():
    from ganfactory.operators.stylegan.models import GRID_ROWS

    assert runinfo.GRID_ROWS == GRID_ROWS
