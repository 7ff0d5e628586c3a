"""Compare two or more runs: their curves on shared axes, their metrics side by side, and their sample
grids at the same point of training (one slider)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ganfactory.console import runinfo
from ganfactory.console.context import NotFound, console_of
from ganfactory.console.runs import KnownRun
from ganfactory.output.layout import RunFolder


def _column(run: KnownRun, stats: runinfo.StatsCache) -> dict:
    """One run's metrics and timed sample grids (blocking: reads the run's files)."""
    by_steps = stats.parsed(RunFolder(run.root).stats_path).by_steps
    frames = [f for f in runinfo.sample_timeline(run.root, by_steps) if f.at is not None]
    return {"run": run, "metrics": dict(runinfo.metric_rows(runinfo.read_json(run.root / "metrics.json").data)),
            "frames": [{"at": f.at, "src": f"/runs/{run.id}/files/{f.path}", "label": f.label} for f in frames]}


async def compare_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    wanted = request.query_params.getlist("run")
    runs = []
    for rid in dict.fromkeys(wanted):
        try:
            runs.append(console.run(rid))
        except NotFound:
            continue
    columns = [await run_in_threadpool(_column, run, console.stats) for run in runs]
    metric_names = sorted({name for column in columns for name in column["metrics"]})
    points = sorted({frame["at"] for column in columns for frame in column["frames"]})
    return console.render(request, "compare.html", nav="compare", columns=columns, metric_names=metric_names,
                          points=points, all_runs=sorted(console.runs(), key=lambda r: str(r.root)),
                          chosen=[run.id for run in runs])


ROUTES = [Route("/compare", compare_page)]
