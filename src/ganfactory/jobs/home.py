"""Where the queue lives: the ganfactory home folder (database and per-job logs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ganfactory.jobs.errors import JobError

HOME_ENV = "GANFACTORY_HOME"
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
