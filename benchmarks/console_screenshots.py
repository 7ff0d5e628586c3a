"""Screenshots of the console's pages (jobs, run, gallery, annotation, compare) on a real run folder.

    python benchmarks/console_screenshots.py RUN OUT_DIR [--chromium /usr/bin/chromium]

RUN is a finished StyleGAN run folder (e.g. the demo's runs/demo/run). A throw-away job home gets three jobs
(one done on RUN, one running with a progress file, one failed) and a DatasetGAN-style annotation folder is
made from RUN's generated images, so every page has something to show. Prints the PNG paths it writes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ganfactory.console.app import create_app  # noqa: E402
from ganfactory.console.runs import run_id  # noqa: E402
from ganfactory.console.settings import ConsoleSettings  # noqa: E402
from ganfactory.engine.stats import write_progress  # noqa: E402
from ganfactory.jobs.model import JobStatus  # noqa: E402


def _jobs(app, run: Path, work: Path) -> None:
    queue = app.state.console.queue
    queue.submit(operator="stylegan", args=["data", str(run)], run_folder=run, cwd=work)
    done = queue.claim_next("worker-a")
    queue.finish(done.id, lease=done.lease, status=JobStatus.DONE, error=None, exit_code=0)
    live = work / "runs" / "faces-long"
    (live / "logs").mkdir(parents=True)
    write_progress(live / "logs", unit="kimg", done=37.5, total=100.0, sec_per_unit=21.0, phase="training")
    queue.submit(operator="stylegan", args=["data", str(live), "--total-kimg", "100"], run_folder=live, cwd=work)
    queue.claim_next("worker-a")
    bad = work / "runs" / "horses2zebras"
    queue.submit(operator="cyclegan", args=["a", "b", str(bad)], run_folder=bad, cwd=work)
    failed = queue.claim_next("worker-b")
    queue.finish(failed.id, lease=failed.lease, status=JobStatus.FAILED, exit_code=2,
                 error="Input folder a holds 0 usable images; point SOURCE at a folder of images.")
    queue.submit(operator="stylegan", args=["data", str(work / "runs" / "next")], run_folder=work / "runs" / "next",
                 cwd=work)


def _annotation(run: Path, work: Path) -> Path:
    """annotation/images from the run's generated images (upscaled 4x), classes.json, one mask painted."""
    folder = work / "runs" / "faces-labels" / "annotation"
    (folder / "images").mkdir(parents=True)
    for i, path in enumerate(sorted((run / "Data").rglob("*.png"))[:8]):
        with Image.open(path) as image:
            image.convert("RGB").resize((image.width * 4, image.height * 4), Image.NEAREST).save(
                folder / "images" / f"sample_{i:03d}.png")
    (folder / "classes.json").write_text(json.dumps([
        {"index": 0, "name": "background", "colour": [0, 0, 0]},
        {"index": 1, "name": "face", "colour": [230, 60, 60]},
        {"index": 2, "name": "eyes", "colour": [60, 120, 230]}]))
    first = np.asarray(Image.open(folder / "images" / "sample_000.png").convert("L"), dtype=np.float32)
    mask = np.where(first > first.mean(), 1, 0).astype(np.uint8)
    (folder / "masks").mkdir()
    Image.fromarray(mask).save(folder / "masks" / "sample_000.png")
    return folder.parent


def _serve(settings: ConsoleSettings):
    import uvicorn

    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return app, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--other-run", type=Path, default=None,
                        help="a second run folder: the compare page shows both (one colour per run)")
    args = parser.parse_args()
    run = args.run.resolve()
    work = Path(tempfile.mkdtemp(prefix="console-shots-"))
    labels = _annotation(run, work)
    other = args.other_run.resolve() if args.other_run else run
    settings = ConsoleSettings(home=work / "home", run_roots=(run, other, labels, work / "runs"), port=args.port)
    app, server = _serve(settings)
    _jobs(app, run, work)
    args.out.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        shots = [("jobs", f"{base}/jobs", None), ("run", f"{base}/runs/{run_id(run)}", ".u-wrap"),
                 ("gallery", f"{base}/runs/{run_id(run)}/gallery", None),
                 ("annotate", f"{base}/runs/{run_id(labels)}/annotate/sample_000", None),
                 ("compare", f"{base}/compare?run={run_id(run)}&run={run_id(other)}", ".u-wrap"),
                 ("generate", f"{base}/runs/{run_id(run)}/generate?seed=7&truncation=1", "#generated"),
                 ("walk", f"{base}/runs/{run_id(run)}/generate?seeds=1,2,3&frames=8&truncation=0.8", "#walk")]
        for name, url, wait in shots:
            page.goto(url)
            if wait:
                page.wait_for_selector(wait)
            if name == "jobs":
                page.wait_for_selector("#job-2")
            if name == "gallery":
                for key in "aarar":
                    page.keyboard.press(key)
                page.wait_for_timeout(500)
            if name == "annotate":
                page.keyboard.press("3")
                box = page.locator("#overlay").bounding_box()
                page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.4)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] * 0.65, box["y"] + box["height"] * 0.4, steps=8)
                page.mouse.up()
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            path = args.out / f"console_{name}.png"
            page.screenshot(path=str(path), full_page=name in ("run", "jobs"))
            print(path)
        browser.close()
    server.should_exit = True
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
