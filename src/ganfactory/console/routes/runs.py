"""The runs list and the run page: config, validation report, curves, sample timeline, GIFs, checkpoints,
metrics, and the ONNX export button (through the operator contract's exporter)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from ganfactory.console import runinfo
from ganfactory.console.annotation import annotation_folder
from ganfactory.console.context import console_of
from ganfactory.console.live import can_generate, is_live, job_of, started_at, stats_stamp
from ganfactory.console.runs import KnownRun
from ganfactory.errors import GanFactoryError
from ganfactory.jobs.model import Job
from ganfactory.jobs.progress import progress_text, read_progress
from ganfactory.output.layout import RunFolder


def run_summary(run: KnownRun) -> dict:
    config = runinfo.read_json(RunFolder(run.root).config_path).data
    return {"run": run, "exists": run.root.is_dir(), "progress": progress_text(read_progress(run.root)),
            "operator": config.get("operator", "") if isinstance(config, dict) else "",
            "has_manifest": RunFolder(run.root).manifest_path.is_file(),
            "has_annotation": annotation_folder(run.root) is not None}


async def runs_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    runs = sorted(console.runs(), key=lambda r: str(r.root))
    return console.render(request, "runs.html", nav="runs", summaries=[run_summary(r) for r in runs])


def run_context(run: KnownRun, stats: runinfo.StatsCache, jobs: list[Job]) -> dict:
    """Everything the run page shows; each part is empty or carries an error when its file is missing or torn.
    `jobs`: the queue's jobs (a running one's page follows it, see console/live.py). Blocking (it reads and
    parses files): run it in the thread pool."""
    root = run.root
    progress = read_progress(root)
    stats_file = stats.parsed(RunFolder(root).stats_path)
    config = runinfo.read_json(RunFolder(root).config_path)
    metrics = runinfo.read_json(root / "metrics.json")
    saved = runinfo.checkpoints(root)
    return {
        "run": run, "exists": root.is_dir(), "config": config,
        "config_text": json.dumps(config.data, indent=2, ensure_ascii=False) if config.data is not None else "",
        "validations": runinfo.validation_reports(root),
        "has_curves": stats_file.has_curves, "frames": runinfo.sample_timeline(root, stats_file.by_steps),
        "grid_rows": runinfo.grid_row_labels(config.data),
        "gifs": runinfo.animations(root), "checkpoints": saved,
        "metrics": runinfo.metric_rows(metrics.data), "metrics_error": metrics.error,
        "progress": progress_text(progress), "alerts": runinfo.run_alerts(root, stats_file),
        "live": is_live(job_of(jobs, root), progress, started=started_at(root)), "stats_stamp": stats_stamp(root),
        "has_manifest": RunFolder(root).manifest_path.is_file(),
        "has_annotation": annotation_folder(root) is not None,
        "onnx": RunFolder(root).onnx_path.is_file(),
        "can_generate": can_generate(config.data, saved),
    }


async def run_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    jobs = await run_in_threadpool(console.queue.list_jobs)
    context = await run_in_threadpool(run_context, run, console.stats, jobs)
    return console.render(request, "run.html", nav="runs", **context)


def curves_of(run: KnownRun, stats: runinfo.StatsCache) -> dict:
    """The run's curves, downsampled for the browser (blocking: parses stats.jsonl when it changed)."""
    return stats.parsed(RunFolder(run.root).stats_path).curves


async def run_curves(request: Request) -> JSONResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    return JSONResponse(await run_in_threadpool(curves_of, run, console.stats))


def _export(root: Path) -> Path:
    from ganfactory.export.cli import export_run  # torch is imported only when a user exports

    return export_run(root)


async def export_onnx(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    try:
        path = await run_in_threadpool(_export, run.root)
    except GanFactoryError as exc:
        return console.notice(request, str(exc), status_code=422)
    relative = path.relative_to(run.root).as_posix() if path.is_relative_to(run.root) else str(path)
    return console.notice(request, "Wrote", kind="ok", link_href=f"/runs/{run.id}/files/{quote(relative)}",
                          link_text=relative, tail=f" ({runinfo.size_text(path.stat().st_size)}).")


ROUTES = [
    Route("/runs", runs_page),
    Route("/runs/{rid}", run_page),
    Route("/runs/{rid}/curves.json", run_curves),
    Route("/runs/{rid}/export", export_onnx, methods=["POST"]),
]
