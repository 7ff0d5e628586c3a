"""The runs list and the run page: config, validation report, curves, sample timeline, GIFs, checkpoints,
metrics, and the ONNX export button (through the operator contract's exporter)."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from ganfactory.console import runinfo
from ganfactory.console.annotation import annotation_folder
from ganfactory.console.context import console_of
from ganfactory.console.runs import KnownRun
from ganfactory.errors import GanFactoryError
from ganfactory.jobs.progress import progress_text, read_progress


def run_summary(run: KnownRun) -> dict:
    config = runinfo.read_json(run.root / "config.json").data
    return {"run": run, "exists": run.root.is_dir(), "progress": progress_text(read_progress(run.root)),
            "operator": config.get("operator", "") if isinstance(config, dict) else "",
            "has_manifest": (run.root / "output_0.manifest").is_file(),
            "has_annotation": annotation_folder(run.root) is not None}


async def runs_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    runs = sorted(console.runs(), key=lambda r: str(r.root))
    return console.render(request, "runs.html", nav="runs", summaries=[run_summary(r) for r in runs])


def run_context(run: KnownRun) -> dict:
    """Everything the run page shows; each part is empty or carries an error when its file is missing or torn."""
    root = run.root
    records = runinfo.read_stats(root / "logs" / "stats.jsonl")
    config = runinfo.read_json(root / "config.json")
    validation = runinfo.read_json(root / "validation.json")
    metrics = runinfo.read_json(root / "metrics.json")
    return {
        "run": run, "exists": root.is_dir(), "config": config,
        "config_text": json.dumps(config.data, indent=2, ensure_ascii=False) if config.data is not None else "",
        "validation": validation.data if isinstance(validation.data, dict) else None,
        "validation_error": validation.error,
        "curves": runinfo.curve_series(records), "frames": runinfo.sample_timeline(root, records),
        "gifs": runinfo.animations(root), "checkpoints": runinfo.checkpoints(root),
        "metrics": runinfo.metric_rows(metrics.data), "metrics_error": metrics.error,
        "progress": progress_text(read_progress(root)), "alerts": runinfo.run_alerts(root, records),
        "has_manifest": (root / "output_0.manifest").is_file(),
        "has_annotation": annotation_folder(root) is not None,
        "onnx": (root / "model" / "generator.onnx").is_file(),
    }


async def run_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    return console.render(request, "run.html", nav="runs", **run_context(run))


async def run_curves(request: Request) -> JSONResponse:
    run = console_of(request).run(request.path_params["rid"])
    return JSONResponse(runinfo.curve_series(runinfo.read_stats(run.root / "logs" / "stats.jsonl")))


def _export(root: Path) -> Path:
    from ganfactory.export.cli import export_run  # torch is imported only when a user exports

    return export_run(root)


async def export_onnx(request: Request) -> HTMLResponse:
    run = console_of(request).run(request.path_params["rid"])
    try:
        path = await run_in_threadpool(_export, run.root)
    except GanFactoryError as exc:
        return HTMLResponse(f'<p class="error" role="alert">{exc}</p>', status_code=422)
    relative = path.relative_to(run.root) if path.is_relative_to(run.root) else path
    return HTMLResponse(f'<p class="ok" role="status">Wrote <a href="/runs/{run.id}/files/{relative}">{relative}</a> '
                        f'({path.stat().st_size / 2**20:.1f} MiB).</p>')


ROUTES = [
    Route("/runs", runs_page),
    Route("/runs/{rid}", run_page),
    Route("/runs/{rid}/curves.json", run_curves),
    Route("/runs/{rid}/export", export_onnx, methods=["POST"]),
]
