"""The state one console server keeps (settings, templates, locks, caches) and the helpers every page uses."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from ganfactory.console.ondemand import OnDemandGenerators
from ganfactory.console.runinfo import StatsCache
from ganfactory.console.runs import KnownRun, discover_runs
from ganfactory.console.settings import ConsoleSettings
from ganfactory.curation.decisions import DecisionStore
from ganfactory.curation.items import GalleryItem, load_items
from ganfactory.jobs.commands import open_queue
from ganfactory.jobs.queue import JobQueue
from ganfactory.output.layout import RunFolder

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
RUNS_TTL_S = 1.0


class NotFound(Exception):
    """A run, job or file the page asked for does not exist (any more); shown as a message with a 404."""


@dataclass
class _CachedItems:
    stamp: tuple[float, int]
    items: list[GalleryItem]


class Console:
    """Everything the request handlers share; one per app."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
        self.decisions = DecisionStore()
        self.stats = StatsCache()
        self.generators = OnDemandGenerators()
        self._queue: JobQueue | None = None
        self._items: dict[Path, _CachedItems] = {}
        self._lock = threading.Lock()
        self._runs: tuple[float, list[KnownRun]] | None = None

    @property
    def queue(self) -> JobQueue:
        if self._queue is None:
            self._queue = open_queue(self.settings.home, self.settings.queue)
        return self._queue

    def runs(self) -> list[KnownRun]:
        """The known runs, found again at most every RUNS_TTL_S so new runs and jobs appear without a restart
        while a gallery's hundreds of thumbnail requests do not each scan the folders and the queue."""
        now = time.monotonic()
        with self._lock:
            if self._runs is not None and now - self._runs[0] < RUNS_TTL_S:
                return self._runs[1]
        job_folders = [job.run_folder for job in self.queue.list_jobs() if job.run_folder is not None]
        found = discover_runs(self.settings.run_roots, job_folders)
        with self._lock:
            self._runs = (now, found)
        return found

    def run(self, rid: str) -> KnownRun:
        for known in self.runs():
            if known.id == rid:
                return known
        raise NotFound("This run is not known to the console (deleted, or its job removed); go back to the runs list.")

    def items(self, root: Path) -> list[GalleryItem]:
        """The run's manifest items, re-read only when the manifest changed (5,000 lines take ~50 ms to parse)."""
        manifest = RunFolder(root).manifest_path
        try:
            stat = manifest.stat()
        except OSError:
            stat = None
        stamp = (stat.st_mtime, stat.st_size) if stat else (0.0, -1)
        with self._lock:
            cached = self._items.get(root)
            if cached is not None and cached.stamp == stamp:
                return cached.items
        items = load_items(root)
        with self._lock:
            self._items[root] = _CachedItems(stamp=stamp, items=items)
        return items

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("settings", self.settings)
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)

    def notice(self, request: Request, text: str, *, kind: str = "error", status_code: int = 200, tag: str = "p",
               element_id: str = "", link_href: str = "", link_text: str = "", tail: str = "") -> HTMLResponse:
        """A one-line HTML answer for an htmx target, built by the template (so `text`, which may hold a file
        name or an exception's words, is escaped) rather than by string formatting. kind: "error" or "ok"."""
        return self.render(request, "_notice.html", status_code=status_code, tag=tag, kind=kind, text=text,
                           element_id=element_id, link_href=link_href, link_text=link_text, tail=tail)


def console_of(request: Request) -> Console:
    return request.app.state.console
