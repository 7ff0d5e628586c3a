"""Mask annotation of a DatasetGAN sample folder: the list with "k of n annotated", the painting page and
the mask upload (checked, then written atomically as an index PNG)."""

from __future__ import annotations

from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from ganfactory.console.annotation import AnnotationFolder, annotation_folder, decode_mask, read_classes, save_mask
from ganfactory.console.context import NotFound, console_of
from ganfactory.console.runs import KnownRun
from ganfactory.errors import InputError


def _folder(run: KnownRun) -> AnnotationFolder:
    folder = annotation_folder(run.root)
    if folder is None:
        raise NotFound(f"{run.root} has no annotation/images folder; write one with 'ganfactory datasetgan sample'.")
    return folder


async def annotate_list(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    folder = _folder(run)
    try:
        classes = read_classes(folder.root)
    except InputError as exc:
        return console.render(request, "message.html", status_code=422, title="Annotation", message=str(exc))
    ids, done = folder.image_ids(), folder.annotated()
    return console.render(request, "annotate_list.html", nav="runs", run=run, ids=ids, done=done, classes=classes)


async def annotate_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    folder = _folder(run)
    image_id = request.path_params["image_id"]
    try:
        classes = read_classes(folder.root)
        with Image.open(folder.image_path(image_id)) as image:
            size = image.size
    except (InputError, OSError) as exc:
        return console.render(request, "message.html", status_code=404, title="Annotation", message=str(exc))
    ids, done = folder.image_ids(), folder.annotated()
    position = ids.index(image_id)
    return console.render(
        request, "annotate.html", nav="runs", run=run, image_id=image_id, size=size, classes=classes,
        classes_json=[{"index": c.index, "name": c.name, "hex": c.hex} for c in classes],
        has_mask=image_id in done, done=len(done), total=len(ids),
        previous=ids[position - 1] if position > 0 else None,
        next=ids[position + 1] if position + 1 < len(ids) else None,
        next_unannotated=_next_unannotated(ids, done, position))


def _next_unannotated(ids: list[str], done: set[str], position: int) -> str | None:
    """The first image after `position` (wrapping round) that has no mask yet; None when every other one has."""
    after = ids[position + 1:] + ids[:position]
    return next((image_id for image_id in after if image_id not in done), None)


async def save_mask_route(request: Request) -> JSONResponse:
    """The request body is the mask PNG (from the canvas or a file the user picked)."""
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    folder = _folder(run)
    image_id = request.path_params["image_id"]
    limit = console.settings.mask_max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return JSONResponse({"error": f"The mask is larger than the limit of {limit} bytes."}, status_code=413)
    body = bytearray()
    async for chunk in request.stream():  # count as it arrives: a missing or false length cannot get past the limit
        body += chunk
        if len(body) > limit:
            return JSONResponse({"error": f"The mask is larger than the limit of {limit} bytes."}, status_code=413)
    try:
        classes = read_classes(folder.root)
        with Image.open(folder.image_path(image_id)) as image:
            size = image.size
        # decoding is CPU work (up to the byte limit's worth of pixels): off the event loop, so other requests go on
        indices = await run_in_threadpool(decode_mask, bytes(body), size=size, classes=classes, max_bytes=limit)
        await run_in_threadpool(save_mask, folder, image_id, indices)
    except InputError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"saved": f"annotation/masks/{image_id}.png", "annotated": len(folder.annotated()),
                         "total": len(folder.image_ids())})


ROUTES = [
    Route("/runs/{rid}/annotate", annotate_list),
    Route("/runs/{rid}/annotate/{image_id}", annotate_page),
    Route("/runs/{rid}/annotate/{image_id}/mask", save_mask_route, methods=["POST"]),
]
