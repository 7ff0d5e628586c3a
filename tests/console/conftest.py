"""Fixtures for the console: small fake run folders (real PNGs, manifest, stats, samples), an annotation
folder in the DatasetGAN layout, an in-process client and a live server for the browser tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganfactory.engine.stats import write_progress
from ganfactory.output.manifest import class_annotation, make_entry, stable_id

TOKEN = "test-token-0123456789"
CHROMIUM = Path("/usr/bin/chromium")


def _png(path: Path, value: int, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((size, size, 3), value, dtype=np.uint8)
    pixels[: size // 2, : size // 2, 0] = 255 - value  # a corner mark so images differ
    Image.fromarray(pixels).save(path)


def make_run(root: Path, *, per_class: int = 3, classes: tuple[str, ...] = ("cats", "dogs")) -> Path:
    """A run folder as a StyleGAN run leaves it: Data/<class>/, the manifest, stats, progress and grids."""
    lines = []
    for c, name in enumerate(classes):
        for i in range(per_class):
            path = root / "Data" / name / f"{i:06d}.png"
            _png(path, 20 + 40 * c + 10 * i)
            entry = make_entry(entry_id=stable_id("test", name, i), source=path.resolve(),
                               annotations=[class_annotation(name)], operator="stylegan", seed=i,
                               class_index=c, truncation=1.0, score=float(per_class - i) / 10)
            lines.append(json.dumps(entry))
    (root / "output_0.manifest").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "logs").mkdir(parents=True, exist_ok=True)
    stats = [{"tick": t, "kimg": 0.1 * t, "steps": 10 * t, "sec_per_kimg": 5.0, "loss_G": 1.0 / t,
              "loss_D": 0.5 + 0.1 * t} for t in range(1, 5)]
    (root / "logs" / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stats), encoding="utf-8")
    write_progress(root / "logs", unit="kimg", done=0.4, total=0.4, sec_per_unit=None, phase="done")  # finished
    for steps in (10, 20, 30, 40):
        _png(root / "samples" / f"fakes_{steps:09d}.png", steps * 5, size=16)
    (root / "config.json").write_text(json.dumps({"operator": "stylegan", "resolution": 8}), encoding="utf-8")
    (root / "model").mkdir(exist_ok=True)
    return root


CLASSES = [{"index": 0, "name": "background", "color": [0, 0, 0]},  # as `datasetgan sample` writes it
           {"index": 1, "name": "digit", "color": [255, 0, 0]},
           {"index": 2, "name": "edge", "color": [0, 255, 0]}]


def make_annotation(root: Path, *, count: int = 3, size: int = 16) -> Path:
    """OUT/annotation/images/<id>.png and classes.json, as `datasetgan sample` writes them."""
    folder = root / "annotation"
    for i in range(count):
        _png(folder / "images" / f"sample_{i:03d}.png", 60 * i, size=size)
    (folder / "classes.json").write_text(json.dumps(CLASSES), encoding="utf-8")
    return root


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    make_run(runs / "alpha")
    make_annotation(runs / "labels")
    return runs


@pytest.fixture
def settings(tmp_path: Path, runs_dir: Path):
    from ganfactory.console.settings import ConsoleSettings

    return ConsoleSettings(home=tmp_path / "home", run_roots=(runs_dir,), token=TOKEN, poll_ms=300, page_size=4)


@pytest.fixture
def client(settings):
    from starlette.testclient import TestClient

    from ganfactory.console.app import create_app

    return TestClient(create_app(settings), base_url="http://127.0.0.1:8080")


def run_id_of(client, name: str) -> str:
    return next(r.id for r in client.app.state.console.runs() if r.root.name == name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(settings):
    """The console served by uvicorn on 127.0.0.1 and a free port, in a thread; yields (base url, app)."""
    import dataclasses

    import uvicorn

    from ganfactory.console.app import create_app

    port = _free_port()
    live = dataclasses.replace(settings, port=port)
    app = create_app(live)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("The console server did not start.")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (never `playwright install`: .ci/run installs the package)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if the console's Content-Security-Policy blocked anything on it (a page
    that relies on inline script or eval would look fine in a test that bypassed the policy)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.csp_violations = violations  # a test that provokes a violation on purpose checks and clears them
    yield page
    context.close()
    assert not violations, violations


def wait_until(page, expression: str, *, timeout_s: float = 10.0) -> None:
    """Poll a JavaScript expression until it is truthy. Playwright's wait_for_function evaluates its predicate with
    eval inside the page, which the console's Content-Security-Policy forbids; page.evaluate is not affected."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"Still false after {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def rid_in(app, name: str) -> str:
    """The console id of the known run folder named `name`."""
    return next(r.id for r in app.state.console.runs() if r.root.name == name)


def screenshot(page, name: str) -> None:
    """A full-page screenshot to look at, in build/screenshots/ (ignored by git)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
