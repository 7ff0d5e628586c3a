"""Issue 20, "what users expect", over plain HTTP: the curves carry the wall clock (the time axes), small
checkpoints read in KiB, a translation's source image is served only from the run folders and the run's inputs,
and StyleGAN's progress grids are labelled with the class of each row. The browser side is in
test_console_more_browser.py."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from tests.console.conftest import _png, run_id_of

from ganfactory.console import runinfo
from ganfactory.output.manifest import class_annotation, make_entry, stable_id

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


def _cyclegan_run(tmp_path: Path, runs_dir: Path) -> tuple[Path, dict[str, str]]:
    """A CycleGAN run folder whose manifest records sources inside its input folder, outside every allowed
    folder, through a '..' and through a symlink that leaves the input folder."""
    source, target, secret = tmp_path / "horses", tmp_path / "zebras", tmp_path / "private"
    _png(source / "h1.png", 90)
    _png(target / "z1.png", 30)
    _png(secret / "s.png", 200)
    (source / "leak.png").symlink_to(secret / "s.png")
    run = runs_dir / "h2z"
    recorded = {"inside": source / "h1.png", "outside": secret / "s.png",
                "dotdot": Path(f"{source}/../private/s.png"), "symlink": source / "leak.png",
                "not-an-image": source / "notes.txt"}
    (source / "notes.txt").write_text("not an image")
    lines = []
    for i, (name, path) in enumerate(recorded.items()):
        out = run / "Data" / f"{name}.png"
        _png(out, 10 * i)
        lines.append(json.dumps(make_entry(entry_id=stable_id("cyclegan", name), source=out.resolve(),
                                           annotations=[class_annotation("zebras")], operator="cyclegan",
                                           source_file=str(path), direction="source_to_target")))
    (run / "output_0.manifest").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (run / "config.json").write_text(json.dumps({"operator": "cyclegan", "source": str(source),
                                                 "target": str(target)}), encoding="utf-8")
    return run, {name: stable_id("cyclegan", name) for name in recorded}


def _tile_attrs(page: str, item_id: str) -> str:
    match = re.search(r'<div class="tile[^"]*" data-id="' + re.escape(item_id) + r'"[^>]*>', page, re.DOTALL)
    assert match, item_id
    return match.group(0)


def test_a_translations_source_is_served_only_from_the_runs_inputs(client, runs_dir, tmp_path):
    _, ids = _cyclegan_run(tmp_path, runs_dir)
    rid = run_id_of(client, "h2z")
    page = "".join(  # four tiles a page: both pages
client.get(f"/runs/{rid}/gallery?page={n}").text for n in (1, 2))
    inside = _tile_attrs(page, ids["inside"])
    assert 'data-source-name="h1.png"' in inside and f'data-source="/runs/{rid}/source?id={ids["inside"]}"' in inside
    served = client.get(f"/runs/{rid}/source", params={"id": ids["inside"]})
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == (tmp_path / "horses" / "h1.png").read_bytes()
    for name, shown in (("outside", "s.png"), ("dotdot", "s.png"), ("symlink", "leak.png"),
                        ("not-an-image", "notes.txt")):
        tile = _tile_attrs(page, ids[name])
        assert f'data-source-name="{shown}"' in tile and "data-source=" not in tile, (name, tile)  # the name only
        refused = client.get(f"/runs/{rid}/source", params={"id": ids[name]})
        assert refused.status_code == 403 and refused.content != (tmp_path / "private" / "s.png").read_bytes(), name
    assert client.get(f"/runs/{rid}/source", params={"id": "no-such-item"}).status_code == 404
    config = runs_dir / "h2z" / "config.json"  # an input folder of "/" would open every image on the disk
    config.write_text(json.dumps({**json.loads(config.read_text()), "target": "/"}))
    assert client.get(f"/runs/{rid}/source", params={"id": ids["outside"]}).status_code == 403
    assert client.get(f"/runs/{rid}/source", params={"id": "../../private/s.png"}).status_code == 404
    # an image with no recorded source (StyleGAN) has no source in its tile
    alpha = client.get(f"/runs/{run_id_of(client, 'alpha')}/gallery").text
    assert "data-source" not in alpha and 'id="preview"' in alpha


def test_a_source_inside_another_known_run_is_served(client, runs_dir, tmp_path):
    run, _ = _cyclegan_run(tmp_path, runs_dir)
    elsewhere = runs_dir / "alpha" / "Data" / "cats" / "000000.png"  # a generated image of another run as input
    manifest = run / "output_0.manifest"
    entry = make_entry(entry_id="from-alpha", source=(run / "Data" / "inside.png").resolve(),
                       annotations=[class_annotation("zebras")], operator="cyclegan", source_file=str(elsewhere))
    manifest.write_text(manifest.read_text() + json.dumps(entry) + "\n")
    served = client.get(f"/runs/{run_id_of(client, 'h2z')}/source", params={"id": "from-alpha"})
    assert served.status_code == 200 and served.content == elsewhere.read_bytes()
