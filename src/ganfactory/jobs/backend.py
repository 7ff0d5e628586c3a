"""What the job queue needs from a database, and the schema's migrations, written once for every backend.

JobQueue holds the queue's logic in portable SQL (`?` placeholders, `RETURNING`, partial indexes); a backend
supplies connections and transactions, the database's clock, the row-lock clauses and the few words of DDL that
differ. Two implement it: SQLite (embedded, the default) and PostgreSQL (workers on many machines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ganfactory.jobs.errors import JobError

# The newest schema; every database is migrated to it, one step at a time, when a queue opens it.
SCHEMA_VERSION = 3

# Version -> statements that take a database from version - 1 to it. `{id_column}` is the backend's
# auto-numbered primary key. Time stamps are seconds since the epoch (DOUBLE PRECISION: REAL is 4 bytes
# in PostgreSQL, too coarse for a time stamp; SQLite maps the name to its 8-byte REAL).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS jobs (
            id               {id_column},
            operator         TEXT    NOT NULL,
            args             TEXT    NOT NULL,
            run_folder       TEXT,
            cwd              TEXT    NOT NULL,
            priority         INTEGER NOT NULL DEFAULT 0,
            status           TEXT    NOT NULL DEFAULT 'queued'
                             CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            attempts         INTEGER NOT NULL DEFAULT 0,
            max_attempts     INTEGER NOT NULL DEFAULT 3,
            nproc            INTEGER NOT NULL DEFAULT 1,
            max_restarts     INTEGER NOT NULL DEFAULT 0,
            worker_id        TEXT,
            lease            TEXT,
            pid              INTEGER,
            heartbeat_at     DOUBLE PRECISION,
            created_at       DOUBLE PRECISION NOT NULL,
            started_at       DOUBLE PRECISION,
            finished_at      DOUBLE PRECISION,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            exit_code        INTEGER,
            error            TEXT,
            log_path         TEXT    NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX IF NOT EXISTS jobs_by_claim_order ON jobs (status, priority DESC, id)",
        "CREATE INDEX IF NOT EXISTS jobs_by_run_folder ON jobs (run_folder, status)",
    ),
    # 2: the typed operator request (JSON) beside the argv
    2: ("ALTER TABLE jobs ADD COLUMN request TEXT",),
    # 3: where a job runs (workers on several machines); the shard K/N of a generation split across jobs
    # ('' for a whole job); and "one unfinished job per run folder (and shard)" enforced by the database
    # itself, so two clients submitting at once cannot both pass the check.
    3: (
        "ALTER TABLE jobs ADD COLUMN worker_host TEXT",
        "ALTER TABLE jobs ADD COLUMN worker_gpu TEXT",
        "ALTER TABLE jobs ADD COLUMN shard TEXT NOT NULL DEFAULT ''",
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_active_per_run_folder ON jobs (run_folder, shard)"
        " WHERE status IN ('queued', 'running')",
    ),
}

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


class Transaction(Protocol):
    """One open transaction. Rows read through it are mappings (row["name"], row.keys())."""

    for_update: str  # appended to a SELECT that reads rows it will change: a row lock, or "" where writes are serial
    skip_locked: str  # appended to a claim's SELECT: skip rows another transaction holds, or ""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run `sql` (with `?` placeholders); returns a cursor with fetchone(), fetchall() and rowcount."""

    def now(self) -> float:
        """The database's clock in seconds since the epoch, the same for the whole transaction."""


class QueueBackend(Protocol):
    """A database that holds a queue. Each transaction opens its own connection, so any thread may use it."""

    location: str  # for messages: a file, or a URL without its password
    integrity_error: tuple[type[BaseException], ...]  # raised when a unique index refuses a row
    unavailable_error: tuple[type[BaseException], ...]  # the database is briefly unreachable or busy: try again

    def write(self) -> AbstractContextManager[Transaction]:
        """A transaction that may change rows; committed when the block ends, rolled back on an exception."""

    def read(self) -> AbstractContextManager[Transaction]:
        """A read-only view."""

    def migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION (JobError when a newer ganfactory wrote it)."""


def migration_statements(version: int, *, id_column: str) -> Iterator[str]:
    """The statements that take a database at `version` to SCHEMA_VERSION, in order."""
    for step in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[step]:
            yield statement.format(id_column=id_column)


def redact(url: str) -> str:
    """A URL fit for a message or a log: its password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def migrate_in(tx: Transaction, current: int, *, id_column: str, location: str) -> None:
    """Apply the missing migrations inside `tx` and record the new version; refuse a newer schema."""
    if current > SCHEMA_VERSION:
        raise JobError(
            f"The job queue {location} was written by a newer ganfactory (schema {current}, this one knows "
            f"{SCHEMA_VERSION}); upgrade ganfactory or use another queue."
        )
    tx.execute(VERSION_TABLE)
    if current == SCHEMA_VERSION:
        return
    for statement in migration_statements(current, id_column=id_column):
        tx.execute(statement)
    tx.execute("DELETE FROM schema_version")
    tx.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
