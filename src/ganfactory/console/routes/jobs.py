"""Jobs page: the live queue table, the submit form built from the operator's config, cancel, retry, log."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ganfactory.console.context import NotFound, console_of
from ganfactory.console.forms import (
    form_fields,
    form_target,
    operator_steps,
    parse_form,
)
from ganfactory.console.jobview import job_view
from ganfactory.errors import GanFactoryError
from ganfactory.jobs import commands
from ganfactory.jobs.errors import JobError
from ganfactory.jobs.logtail import read_tail
from ganfactory.operators.registry import all_operators, get_operator

MAX_ROWS = 300
SQLITE_MAX_INTEGER = 2**63 - 1
LOG_LINES = 400


def _table(request: Request, *, message: str = "") -> HTMLResponse:
    console = console_of(request)
    jobs = sorted(console.queue.list_jobs(), key=lambda j: j.id, reverse=True)[:MAX_ROWS]
    return console.render(request, "_jobs_table.html", views=[job_view(job) for job in jobs], message=message)


async def jobs_page(request: Request) -> HTMLResponse:
    console = console_of(request)
    operators = [spec.name for spec in all_operators()]
    return console.render(request, "jobs.html", operators=operators, operator=operators[0],
                          form=_form_context(operators[0]), cwd=Path.cwd())


async def jobs_table(request: Request) -> HTMLResponse:
    return _table(request)


def _form_context(operator: str, *, step: str | None = None, values: dict | None = None,
                  errors: dict | None = None) -> dict:
    """The submit form of OPERATOR (of its STEP, for an operator with steps). Raises GanFactoryError."""
    spec = get_operator(operator)
    target = form_target(spec, step)
    return {"spec": spec, "fields": form_fields(target), "values": values or {}, "errors": errors or {},
            "inputs": [*target.input_names, "out"], "steps": list(operator_steps(spec)), "step": target.step,
            "help": target.help}


async def job_form(request: Request) -> HTMLResponse:
    operator = request.query_params.get("operator", "")
    try:
        form = _form_context(operator, step=request.query_params.get("step") or None)
    except GanFactoryError as exc:
        return console_of(request).notice(request, str(exc), status_code=404)
    return console_of(request).render(request, "_job_form.html", form=form, cwd=Path.cwd())


async def submit_job(request: Request) -> HTMLResponse:
    """Validate the form; on success queue the job and tell the table to refresh (HX-Trigger)."""
    console = console_of(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    operator = form.pop("operator", "")
    step = form.pop("step", "") or None
    try:
        target = form_target(get_operator(operator), step)
    except GanFactoryError as exc:
        return console.notice(request, str(exc), status_code=400)
    parsed = parse_form(target, form, cwd=Path.cwd())
    banner, job_id = "", None
    if not parsed.errors:
        try:
            job_id = commands.submit(console.settings.home, operator, parsed.argv,
                                     priority=int(form.get("priority") or 0), cwd=Path.cwd(),
                                     queue=console.settings.queue)
        except (GanFactoryError, ValueError) as exc:
            banner = str(exc)
    context = _form_context(operator, step=step, values=parsed.values if job_id is None else {},
                            errors=parsed.errors)
    response = console.render(request, "_job_form.html", form=context, cwd=Path.cwd(), banner=banner,
                              submitted=job_id, status_code=200 if job_id is not None or not (parsed.errors or banner)
                              else 422)
    if job_id is not None:
        response.headers["HX-Trigger"] = "jobs-changed"
    return response


async def cancel_job(request: Request) -> HTMLResponse:
    return _change(request, commands.cancel)


async def retry_job(request: Request) -> HTMLResponse:
    return _change(request, commands.retry)


def _job_id(request: Request) -> int:
    """The path's job id; one beyond SQLite's 64-bit INTEGER range names no job (it cannot even be looked up)."""
    job_id = int(request.path_params["job_id"])
    if job_id > SQLITE_MAX_INTEGER:
        raise NotFound(f"There is no job {job_id}; go back to the jobs list.")
    return job_id


def _change(request: Request, action) -> HTMLResponse:
    console = console_of(request)
    try:
        action(console.settings.home, _job_id(request), queue=console.settings.queue)
    except JobError as exc:
        return _table(request, message=str(exc))
    return _table(request)


def _job(request: Request):
    try:
        return console_of(request).queue.get(_job_id(request))
    except JobError as exc:
        raise NotFound(str(exc)) from None


async def job_log_page(request: Request) -> HTMLResponse:
    job = _job(request)
    lines = read_tail(job.log_path)[-LOG_LINES:]
    return console_of(request).render(request, "job_log.html", view=job_view(job), lines=lines)


async def job_log_tail(request: Request) -> Response:
    """The log's last lines and, out of band, the heading's status; htmx stops polling (status 286) once the job
    has finished."""
    job = _job(request)
    lines = read_tail(job.log_path)[-LOG_LINES:]
    response = console_of(request).render(request, "_log.html", lines=lines, view=job_view(job), oob=True)
    if job.status.finished:
        response.status_code = 286
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/jobs", status_code=303)


ROUTES = [
    Route("/", home),
    Route("/jobs", jobs_page),
    Route("/jobs", submit_job, methods=["POST"]),
    Route("/jobs/table", jobs_table),
    Route("/jobs/form", job_form),
    Route("/jobs/{job_id:int}/cancel", cancel_job, methods=["POST"]),
    Route("/jobs/{job_id:int}/retry", retry_job, methods=["POST"]),
    Route("/jobs/{job_id:int}/log", job_log_page),
    Route("/jobs/{job_id:int}/log/tail", job_log_tail),
]
