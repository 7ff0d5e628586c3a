"""Where the queue lives: the ganfactory home folder (SQLite database and per-job logs), or a database URL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ganfactory.jobs.errors import JobError

HOME_ENV = "GANFACTORY_HOME"
QUEUE_ENV = "GANFACTORY_QUEUE"  # a postgresql:// URL: the queue that workers on several machines share
DEFAULT_HOME = Path("~/.ganfactory")


@dataclass(frozen=True)
class JobHome:
    """The paths inside one home folder; every worker and client that shares it sees the same queue."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "jobs.sqlite3"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log_for(self, job_id: int) -> Path:
        return self.logs / f"{job_id}.log"


def resolve_home(home: Path | str | None = None) -> JobHome:
    """The home folder from the argument, else $GANFACTORY_HOME, else ~/.ganfactory; created if missing."""
    chosen = Path(home) if home is not None else Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)
    root = chosen.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / "logs").mkdir(exist_ok=True)
    except OSError as exc:
        raise JobError(
            f"Cannot create the jobs home folder {root} ({exc.strerror}); pass a writable folder with --home."
        ) from exc
    return JobHome(root=root)


def resolve_queue_url(queue: str | None = None) -> str | None:
    """The queue database's URL from the argument, else $GANFACTORY_QUEUE; None: the home folder's SQLite file."""
    chosen = queue if queue is not None else os.environ.get(QUEUE_ENV)
    return chosen.strip() or None if chosen else None


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))
