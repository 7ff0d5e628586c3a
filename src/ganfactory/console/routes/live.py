"""The run page's polled part: the heading's progress, and out of band its checkpoints and metrics; the
"run-update" event (HX-Trigger) tells curves.js and timeline.js what changed. Status 286 stops htmx polling
once the run has ended."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ganfactory.console.context import console_of
from ganfactory.console.live import live_parts, update_event


async def run_live(request: Request) -> HTMLResponse:
    console = console_of(request)
    run = console.run(request.path_params["rid"])
    jobs = await run_in_threadpool(console.queue.list_jobs)
    parts = await run_in_threadpool(live_parts, run.root, jobs, console.stats)
    response = console.render(request, "_run_live.html", run=run, oob=True, **parts)
    response.headers["HX-Trigger"] = json.dumps({"run-update": update_event(parts)})  # ASCII: a valid header
    if not parts["live"]:
        response.status_code = 286
    return response


ROUTES = [Route("/runs/{rid}/live", run_live)]
