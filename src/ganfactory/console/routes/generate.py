"""Generate on demand from a StyleGAN run: a page with seed, truncation psi and class, the image for them, and a
latent walk between seeds (see `console.ondemand`). Reads only: images are made in memory, nothing is written."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from ganfactory.console.context import console_of
from ganfactory.console.ondemand import MAX_WALK_FRAMES, MAX_WALK_SEEDS, class_index_of, parse_request
from ganfactory.errors import GanFactoryError


async def generate_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    try:
        model = await run_in_threadpool(console.generators.model, run.root)
    except GanFactoryError as exc:
        return console.render(request, "message.html", status_code=422, title=f"Generate from {run.name}",
                              message=str(exc))
    params = dict(request.query_params)
    error, image_url, walk_url = "", "", ""
    try:
        if "class" in params:
            class_index_of(model, params["class"])
        if "seed" in params:
            parse_request(params, walk=False)
            image_url = f"/runs/{run.id}/generate.png?{urlencode(_kept(params, 'seed'))}"
        if "seeds" in params:
            parse_request(params, walk=True)
            walk_url = f"/runs/{run.id}/walk.gif?{urlencode(_kept(params, 'seeds', 'frames'))}"
    except GanFactoryError as exc:
        error = str(exc)
    return console.render(request, "generate.html", nav="runs", run=run, model=model, params=params, error=error,
                          image_url=image_url, walk_url=walk_url, max_seeds=MAX_WALK_SEEDS,
                          max_frames=MAX_WALK_FRAMES)


def _kept(params: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in params.items() if k in (*names, "truncation", "class")}


async def generated_image(request: Request) -> Response:
    return await _made(request, walk=False)


async def walk_animation(request: Request) -> Response:
    return await _made(request, walk=True)


async def _made(request: Request, *, walk: bool) -> Response:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    try:
        wanted = parse_request(dict(request.query_params), walk=walk)
        make = console.generators.walk_gif if walk else console.generators.image_png
        data = await run_in_threadpool(make, run.root, wanted)
    except GanFactoryError as exc:
        return PlainTextResponse(str(exc), status_code=422)
    return Response(data, media_type="image/gif" if walk else "image/png", headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/runs/{rid}/generate", generate_page),
    Route("/runs/{rid}/generate.png", generated_image),
    Route("/runs/{rid}/walk.gif", walk_animation),
]
