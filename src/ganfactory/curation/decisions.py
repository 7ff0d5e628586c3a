"""Accept/reject decisions of a run's generated images, in RUN/curation.json (the sidecar).

The file maps manifest ids to "accept" or "reject"; an id that is absent is undecided. Every change
rewrites the file atomically (temp file, fsync, rename) under a lock, so a crash leaves the old or the
new decisions and two browser tabs deciding at once do not lose each other's clicks.
"""

from __future__ import annotations

import json
import threading
from enum import Enum
from pathlib import Path

from ganfactory.errors import GanFactoryError
from ganfactory.output.atomic import atomic_write_json

SIDECAR_NAME = "curation.json"
FORMAT = 1


class Decision(str, Enum):
    ACCEPT = "accept"
    REJECT = "reject"


def read_decisions(run: Path) -> dict[str, Decision]:
    """The decisions of a run ({} when none were made). Raises GanFactoryError for an unreadable sidecar."""
    path = Path(run) / SIDECAR_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise GanFactoryError(f"{path} cannot be read ({exc}); restore it or delete it to start curating "
                              "again.") from None
    raw = data.get("decisions") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        raise GanFactoryError(f"{path} has no 'decisions' mapping; restore it or delete it to start again.")
    return {str(k): Decision(v) for k, v in raw.items() if v in (Decision.ACCEPT.value, Decision.REJECT.value)}


class DecisionStore:
    """Reads and changes the sidecars of any number of runs; one instance per process (it holds the locks)."""

    def __init__(self) -> None:
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, run: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(Path(run).resolve(), threading.Lock())

    def decide(self, run: Path, changes: dict[str, Decision | None]) -> dict[str, Decision]:
        """Apply {id: decision or None (undecided)} and return all decisions after the change."""
        with self._lock(run):
            decisions = read_decisions(run)
            for item_id, decision in changes.items():
                if decision is None:
                    decisions.pop(item_id, None)
                else:
                    decisions[item_id] = Decision(decision)
            atomic_write_json(Path(run) / SIDECAR_NAME, {
                "format": FORMAT, "decisions": {k: v.value for k, v in sorted(decisions.items())}})
            return decisions
