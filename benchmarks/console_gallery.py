"""Time to first paint of the console's gallery for a run of 5,000 generated images.

    python benchmarks/console_gallery.py [--images 5000] [--repeats 5] [--chromium /usr/bin/chromium]

Builds a run folder (two classes, 32x32 PNGs, a manifest with seeds and a score), serves it with uvicorn on
127.0.0.1, and loads the gallery in headless Chromium. Prints, per page size, the median over the repeats of:
server time for the page's HTML (cold = first request, which parses the manifest), first paint and first
contentful paint, DOMContentLoaded, and the time until every thumbnail of the first screen has loaded.
Wall-clock figures on a shared machine: compare them with each other, not with another machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
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
from ganfactory.output.manifest import class_annotation, make_entry, stable_id  # noqa: E402


def build_run(root: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    lines = []
    for i in range(count):
        name = ("cats", "dogs")[i % 2]
        path = root / "Data" / name / f"seed{i:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
        lines.append(json.dumps(make_entry(entry_id=stable_id("bench", i), source=path, operator="stylegan",
                                           annotations=[class_annotation(name)], seed=i, class_index=i % 2,
                                           truncation=1.0, score=float(rng.random()))))
    (root / "output_0.manifest").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def serve(settings: ConsoleSettings):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


_TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = Object.fromEntries(performance.getEntriesByType("paint").map(e => [e.name, e.startTime]));
  return {fp: paint["first-paint"], fcp: paint["first-contentful-paint"], dcl: nav.domContentLoadedEventEnd,
          ttfb: nav.responseStart, html: nav.responseEnd - nav.requestStart, tiles: document.querySelectorAll(".tile").length};
}"""

_SCREEN_LOADED = """() => Array.from(document.images).filter(i => {
  const r = i.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }).every(i => i.complete && i.naturalWidth > 0)"""


def measure(browser, url: str, repeats: int) -> dict[str, float]:
    rows = []
    for repeat in range(repeats + 1):  # the first load is the cold one (manifest parsed on the server)
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_function(_SCREEN_LOADED, polling=20, timeout=120_000)
        screen = (time.perf_counter() - start) * 1000
        timings = page.evaluate(_TIMINGS)
        timings["first_screen_loaded"] = screen
        rows.append(timings)
        page.close()
    cold, warm = rows[0], rows[1:]
    result = {key: statistics.median(r[key] for r in warm) for key in ("ttfb", "fp", "fcp", "dcl", "first_screen_loaded")}
    result["cold_ttfb"], result["tiles"] = cold["ttfb"], cold["tiles"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="console-gallery-") as tmp:
        started = time.perf_counter()
        run = build_run(Path(tmp) / "run", args.images)
        print(f"built a run of {args.images} images in {time.perf_counter() - started:.1f} s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            for page_size in (200, 1000, args.images):
                settings = ConsoleSettings(home=Path(tmp) / "home", run_roots=(run,), port=args.port,
                                           page_size=page_size)
                server = serve(settings)
                figures = measure(browser, f"http://127.0.0.1:{args.port}/runs/{run_id(run)}/gallery?sort=score",
                                  args.repeats)
                server.should_exit = True
                while server.started and not getattr(server, "_stopped", False):
                    time.sleep(0.1)
                    if server.should_exit:
                        break
                time.sleep(1.0)
                args.port += 1
                print(f"page size {page_size:5d} ({figures['tiles']} tiles): HTML first byte {figures['ttfb']:.0f} ms "
                      f"(cold {figures['cold_ttfb']:.0f} ms), first paint {figures['fp']:.0f} ms, first contentful "
                      f"paint {figures['fcp']:.0f} ms, DOMContentLoaded {figures['dcl']:.0f} ms, first screen of "
                      f"thumbnails loaded {figures['first_screen_loaded']:.0f} ms (median of {args.repeats})")
            browser.close()


if __name__ == "__main__":
    main()
