"""Latency of the console under a bounded mixed load, against a long run: a 100,000-line stats.jsonl, 40 sample
grids and a 5,000-image gallery.

    python benchmarks/console_load.py [--stats-lines 100000] [--images 5000] [--requests 600] [--clients 8]

Serves the console with uvicorn on 127.0.0.1 (the only address it sends to), in its own process, and sends a
fixed number of requests from a few client threads, mixed as a user's browser would: static files, the run page,
its curves, the gallery page, thumbnails, the jobs table. Prints p50/p95/max per kind, the curves payload in
bytes, and the goals of issue 20 (static p95 < 100 ms, run page p95 < 1 s, series payload < 300 KB).
Wall-clock figures on a shared machine: say what else ran.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from console_gallery import build_run  # noqa: E402  (the 5,000-image run)

from ganfactory.console.runs import run_id  # noqa: E402
from ganfactory.console.settings import ConsoleSettings  # noqa: E402

GOALS_S = {"static": 0.100, "run page": 1.0}
PAYLOAD_GOAL = 300_000


def add_training_logs(root: Path, lines: int, grids: int = 40) -> None:
    """stats.jsonl with `lines` ticks of a StyleGAN run's fields, and `grids` sample grids."""
    (root / "logs").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    with open(root / "logs" / "stats.jsonl", "w", encoding="utf-8") as handle:
        for tick in range(lines):
            handle.write(json.dumps({"tick": tick, "kimg": tick * 0.04, "steps": tick * 5,
                                     "loss_G": float(rng.random()),
                                     "loss_D": float(rng.random()), "r1": 0.01, "ada_p": 0.1, "lr": 2.5e-3,
                                     "sec_per_kimg": 30.0, "diversity": 0.9}) + "\n")
    for i in range(grids):
        path = root / "samples" / f"fakes_{i * lines * 5 // grids:09d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (128, 192, 3), dtype=np.uint8)).save(path)
    (root / "config.json").write_text(json.dumps({"operator": "stylegan", "resolution": 32}), encoding="utf-8")


def request_mix(rid: str, thumbnails: list[str]) -> list[tuple[str, str]]:
    """(kind, path) pairs in the proportions of a browser on the run page and the gallery."""
    mix = [("static", "/static/console.css"), ("static", "/static/htmx.min.js"), ("static", "/static/curves.js"),
           ("run page", f"/runs/{rid}"), ("curves", f"/runs/{rid}/curves.json"),
           ("gallery page", f"/runs/{rid}/gallery"), ("jobs table", "/jobs/table")]
    mix += [("thumbnail", f"/runs/{rid}/files/{path}") for path in thumbnails[:6]]
    return mix


def serve_in_a_process(settings: ConsoleSettings) -> multiprocessing.Process:
    """uvicorn in a child process, so the load's client threads do not share the server's interpreter lock."""
    import uvicorn

    from ganfactory.console.app import create_app

    process = multiprocessing.Process(target=uvicorn.run, args=(create_app(settings),),
                                      kwargs={"host": "127.0.0.1", "port": settings.port, "log_level": "warning"})
    process.start()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{settings.port}/static/console.css", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("The console did not start within 30 s.")


def timed_get(client: httpx.Client, kind: str, path: str) -> tuple[str, float, int, int]:
    start = time.perf_counter()
    response = client.get(path)
    return kind, time.perf_counter() - start, response.status_code, len(response.content)


Result = tuple[str, float, int, int]  # kind, seconds, status, bytes


def run_load(base: str, mix: list[tuple[str, str]], *, requests: int, clients: int) -> list[Result]:
    plan = list(itertools.islice(itertools.cycle(mix), requests))
    with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda item: timed_get(client, *item), plan))


def report(results: list[tuple[str, float, int, int]]) -> None:
    print(f"{'kind':<14}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'bytes':>10}  goal")
    for kind in dict.fromkeys(kind for kind, *_ in results):
        times = sorted(t for k, t, _, _ in results if k == kind)
        sizes = [size for k, _, _, size in results if k == kind]
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        goal = GOALS_S.get(kind)
        verdict = "" if goal is None else f"p95 < {goal * 1000:.0f} ms: {'met' if p95 < goal else 'NOT met'}"
        print(f"{kind:<14}{len(times):>5}{statistics.median(times) * 1000:>10.1f}{p95 * 1000:>10.1f}"
              f"{times[-1] * 1000:>10.1f}{max(sizes):>10}  {verdict}")
    errors = [(k, status) for k, _, status, _ in results if status != 200]
    print(f"non-200 answers: {len(errors)} {errors[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stats-lines", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        root = build_run(runs / "long-run", args.images)
        add_training_logs(root, args.stats_lines)
        settings = ConsoleSettings(home=Path(tmp) / "home", run_roots=(runs,), token="bench", port=8765)
        server = serve_in_a_process(settings)
        base, rid = f"http://127.0.0.1:{settings.port}", run_id(root.resolve())
        thumbnails = sorted(p.relative_to(root).as_posix() for p in (root / "Data" / "cats").glob("*.png"))
        print(f"run: {args.stats_lines} stats lines ({(root / 'logs' / 'stats.jsonl').stat().st_size / 2**20:.1f} MiB),"
              f" {args.images} images; {args.requests} requests from {args.clients} clients; "
              f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
        cold = timed_get(httpx.Client(base_url=base, timeout=60), "run page (cold)", f"/runs/{rid}")
        print(f"first run page (parses stats.jsonl): {cold[1] * 1000:.0f} ms")
        results = run_load(base, request_mix(rid, thumbnails), requests=args.requests, clients=args.clients)
        report(results)
        payload = max(size for kind, _, _, size in results if kind == "curves")
        verdict = "met" if payload < PAYLOAD_GOAL else "NOT met"
        print(f"curves payload: {payload} bytes (goal < {PAYLOAD_GOAL}: {verdict})")
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
