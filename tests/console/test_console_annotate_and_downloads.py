"""Annotation conveniences (next unannotated image, a shortcut overlay) and download links for a run's models."""

from __future__ import annotations

import numpy as np
from PIL import Image
from tests.console.conftest import run_id_of


def _mask(runs_dir, image_id: str) -> None:
    masks = runs_dir / "labels" / "annotation" / "masks"
    masks.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(masks / f"{image_id}.png")


def test_next_unannotated_skips_annotated_images_and_wraps(client, runs_dir):
    rid = run_id_of(client, "labels")
    _mask(runs_dir, "sample_001")
    page = client.get(f"/runs/{rid}/annotate/sample_000").text
    assert f'id="next-unannotated" href="/runs/{rid}/annotate/sample_002"' in page  # 001 has a mask
    page = client.get(f"/runs/{rid}/annotate/sample_002").text
    assert f'id="next-unannotated" href="/runs/{rid}/annotate/sample_000"' in page  # wraps round
    _mask(runs_dir, "sample_000")
    page = client.get(f"/runs/{rid}/annotate/sample_002").text
    assert 'id="next-unannotated"' not in page and 'id="all-annotated"' in page


def test_checkpoints_and_the_onnx_file_download(client, runs_dir):
    model = runs_dir / "alpha" / "model"
    (model / "network-snapshot-000010.pt").write_bytes(b"weights" * 10)
    (model / "generator.onnx").write_bytes(b"onnx" * 10)
    rid = run_id_of(client, "alpha")
    page = client.get(f"/runs/{rid}").text
    assert f'href="/runs/{rid}/files/model/network-snapshot-000010.pt" download' in page
    assert f'href="/runs/{rid}/files/model/generator.onnx" download' in page
    response = client.get(f"/runs/{rid}/files/model/network-snapshot-000010.pt")
    assert response.status_code == 200 and response.content == b"weights" * 10
    assert response.headers["content-disposition"].startswith("attachment")
    grid = client.get(f"/runs/{rid}/files/samples/fakes_000000010.png")
    assert grid.status_code == 200 and "content-disposition" not in grid.headers  # pictures are shown, not saved


def test_the_shortcut_overlay_and_n_in_the_browser(live_server, page, runs_dir):
    base, app = live_server
    rid = next(r.id for r in app.state.console.runs() if r.root.name == "labels")
    _mask(runs_dir, "sample_001")
    page.goto(f"{base}/runs/{rid}/annotate/sample_000")
    page.locator("#overlay").wait_for()
    assert not page.locator("#shortcuts").is_visible()
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible() and "next unannotated image" in page.inner_text("#shortcuts")
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts").is_visible()
    page.keyboard.press("n")
    page.wait_for_url("**/annotate/sample_002")
