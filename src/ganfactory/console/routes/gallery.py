"""Gallery and curation: generated images with their manifest fields, accept/reject by mouse or keyboard,
decisions in RUN/curation.json, and the export of the accepted images."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Route

from ganfactory.console import runinfo
from ganfactory.console.context import Console, console_of
from ganfactory.console.gallery import (
    SHOW,
    GalleryQuery,
    SourceImage,
    counts,
    find_source,
    input_folders,
    select,
)
from ganfactory.console.runs import KnownRun
from ganfactory.curation.decisions import Decision, read_decisions
from ganfactory.curation.export import export_curated
from ganfactory.curation.items import numeric_fields
from ganfactory.errors import GanFactoryError
from ganfactory.output.layout import RunFolder

MAX_CHANGES = 5000


def _query(request: Request) -> GalleryQuery:
    params = request.query_params
    try:
        page = int(params.get("page", "1"))
    except ValueError:
        page = 1
    show = params.get("show", "all")
    return GalleryQuery(class_name=params.get("cls", ""), sort=params.get("sort", ""),
                        descending=params.get("desc", "") == "1", show=show if show in SHOW else "all", page=page)


async def gallery_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    try:
        items = console.items(run.root)
        decisions = read_decisions(run.root)
    except GanFactoryError as exc:
        return console.render(request, "message.html", status_code=404, title=f"Gallery of {run.name}",
                              message=str(exc))
    query = _query(request)
    page = select(items, decisions, query, page_size=console.settings.page_size)
    allowed = await run_in_threadpool(_source_folders, console, run)
    sources = await run_in_threadpool(lambda: [find_source(item.entry, allowed) for item in page.items])
    tiles = [{"item": item, "decision": decisions[item.id].value if item.id in decisions else "",
              "source": source, "meta": json.dumps({k: v for k, v in item.entry.items() if k not in ("annotation",)},
                                                   ensure_ascii=False)} for item, source in zip(page.items, sources)]
    return console.render(request, "gallery.html", nav="runs", run=run, tiles=tiles, page=page, query=query,
                          classes=sorted({item.class_name for item in items if item.class_name}),
                          sort_fields=numeric_fields(items), counts=counts(items, decisions),
                          default_out=str(run.root / "curated"))


def _source_folders(console: Console, run: KnownRun) -> list[Path]:
    """Where a manifest's source images may be served from: the known run folders and the input folders this
    run's config.json records (blocking: reads config.json)."""
    recorded = runinfo.read_json(RunFolder(run.root).config_path).data
    return [known.root for known in console.runs()] + input_folders(recorded)


def _source_of(console: Console, run: KnownRun, item_id: str) -> SourceImage | None:
    item = next((item for item in console.items(run.root) if item.id == item_id), None)
    return None if item is None else find_source(item.entry, _source_folders(console, run))


async def source_image(request: Request) -> Response:
    """The source image of the manifest item ?id= (CycleGAN: the image it translates), when `find_source` allows
    it; the URL names an item, never a path."""
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    try:
        source = await run_in_threadpool(_source_of, console, run, request.query_params.get("id", ""))
    except GanFactoryError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    if source is None:
        return PlainTextResponse("This image has no recorded source.", status_code=404)
    if source.path is None:
        return PlainTextResponse(f"The source {source.name} lies outside the run folders and the run's input "
                                 "folders (or is gone); it is not served.", status_code=403)
    return FileResponse(source.path, headers={"Cache-Control": "no-cache"})


async def decide(request: Request) -> JSONResponse:
    """Body {"changes": {id: "accept" | "reject" | null}}; answers the run's counts after the change."""
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    try:
        body = await request.json()
        changes = body["changes"]
        if not isinstance(changes, dict) or not 0 < len(changes) <= MAX_CHANGES:
            raise ValueError("no changes")
        parsed = {str(k): None if v is None else Decision(v) for k, v in changes.items()}
    except Exception:
        return JSONResponse({"error": 'send {"changes": {"<id>": "accept" | "reject" | null}}'}, status_code=400)
    try:
        items = console.items(run.root)
        unknown = set(parsed) - {item.id for item in items}
        if unknown:
            return JSONResponse({"error": f"unknown image id {sorted(unknown)[0]!r}"}, status_code=400)
        decisions = await run_in_threadpool(console.decisions.decide, run.root, parsed)
    except GanFactoryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    return JSONResponse(counts(items, decisions))


async def curate_export(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    form = await request.form()
    out = Path(str(form.get("out") or run.root / "curated")).expanduser()
    if not out.is_absolute():
        out = run.root / out
    try:
        result = await run_in_threadpool(export_curated, run.root, out)
    except GanFactoryError as exc:
        return console.notice(request, str(exc), status_code=422, tag="span")
    missing = f", {result.missing} missing" if result.missing else ""
    return console.notice(request, f"Exported {result.written} accepted image(s) to {result.out}{missing}.",
                          kind="ok", tag="span", element_id="export-done")


ROUTES = [
    Route("/runs/{rid}/gallery", gallery_page),
    Route("/runs/{rid}/source", source_image),
    Route("/runs/{rid}/decisions", decide, methods=["POST"]),
    Route("/runs/{rid}/curate", curate_export, methods=["POST"]),
]
