"""The console's ASGI application: routes of every page, static files from the package, the token guard,
and errors shown as a message page (a run folder deleted while its page is open is not a server error)."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from ganfactory.console.context import STATIC_DIR, Console, NotFound
from ganfactory.console.routes import annotate, compare, files, gallery, generate, jobs, live, runs
from ganfactory.console.security import SecurityHeaders, TokenGuard
from ganfactory.console.settings import ConsoleSettings
from ganfactory.errors import GanFactoryError

log = logging.getLogger(__name__)


def _message(request: Request, *, status: int, title: str, message: str) -> Response:
    if request.headers.get("content-type", "").startswith(("application/json", "image/")):
        return JSONResponse({"error": message}, status_code=status)
    return request.app.state.console.render(request, "message.html", status_code=status, title=title,
                                            message=message)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _message(request, status=404, title="Not found", message=str(exc))


async def _user_error(request: Request, exc: Exception) -> Response:
    return _message(request, status=422, title="Cannot do that", message=str(exc).splitlines()[0])


async def _file_error(request: Request, exc: Exception) -> Response:
    # A run folder removed or rewritten between listing and reading it.
    log.warning("File error while serving %s: %s", request.url.path, exc)
    return _message(request, status=409, title="The run folder changed",
                    message=f"A file of this run could not be read ({exc.__class__.__name__}: {exc}); "
                            "it may have been deleted or be half-written. Reload the page.")


def create_app(settings: ConsoleSettings) -> Starlette:
    routes = [*jobs.ROUTES, *runs.ROUTES, *files.ROUTES, *gallery.ROUTES, *annotate.ROUTES, *compare.ROUTES,
              *generate.ROUTES, *live.ROUTES,
              Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static")]
    middleware = [Middleware(SecurityHeaders), Middleware(TokenGuard, settings=settings)]  # outermost first
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={NotFound: _not_found, GanFactoryError: _user_error, OSError: _file_error})
    app.state.console = Console(settings)
    return app
