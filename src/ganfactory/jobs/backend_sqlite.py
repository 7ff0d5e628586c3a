"""The embedded queue backend: one SQLite file in the home folder, nothing to set up.

Every write is a `BEGIN IMMEDIATE` transaction, which takes the database's write lock before the first
read: writers are serial, so a read-modify-write needs no row locks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ganfactory.jobs.backend import SCHEMA_VERSION, migrate_in
from ganfactory.jobs.errors import JobError

BUSY_TIMEOUT_S = 30.0
ID_COLUMN = "INTEGER PRIMARY KEY AUTOINCREMENT"


class _SqliteTransaction:
    for_update = ""
    skip_locked = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(params))

    def now(self) -> float:
        # One machine's file, so its own clock is the database's clock.
        return time.time()


class SqliteBackend:
    """A queue in one SQLite file (WAL mode: readers never wait for the worker that writes)."""

    integrity_error = (sqlite3.IntegrityError,)
    unavailable_error = (sqlite3.OperationalError,)

    def __init__(self, *, database: Path) -> None:
        self.database = database
        self.location = str(database)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the write lock is taken
        # before the first read of a read-modify-write, not lazily at the first write.
        conn = sqlite3.connect(str(self.database), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return conn

    @contextmanager
    def write(self) -> Iterator[_SqliteTransaction]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[_SqliteTransaction]:
        conn = self._connect()
        try:
            yield _SqliteTransaction(conn)
        finally:
            conn.close()

    def migrate(self) -> None:
        try:
            with self.read() as tx:
                # WAL lets readers (list, show) run while a worker writes; it persists in the file.
                tx.execute("PRAGMA journal_mode = WAL")
            with self.write() as tx:
                migrate_in(tx, _version(tx), id_column=ID_COLUMN, location=self.location)
                # Kept in step so that an older ganfactory, which reads only this, refuses the file.
                tx.execute(f"PRAGMA user_version = {max(SCHEMA_VERSION, _user_version(tx))}")
        except sqlite3.DatabaseError as exc:
            raise JobError(
                f"Cannot open the job database {self.database} ({exc}); check the file, or use another --home."
            ) from exc


def _user_version(tx: _SqliteTransaction) -> int:
    return int(tx.execute("PRAGMA user_version").fetchone()[0])


def _version(tx: _SqliteTransaction) -> int:
    """The file's schema version: its version table, or for files from before that table (versions 1 and 2,
    which kept it in PRAGMA user_version), what the jobs table holds."""
    legacy = _user_version(tx)  # kept equal to the table's version; a newer ganfactory may have set only this
    has_table = tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if has_table:
        row = tx.execute("SELECT max(version) FROM schema_version").fetchone()
        if row[0] is not None:
            return max(int(row[0]), legacy)
    if legacy > 2:
        return legacy  # written by a ganfactory newer than this one: refused by migrate_in
    columns = {row["name"] for row in tx.execute("PRAGMA table_info(jobs)")}
    if not columns:
        return 0
    return 2 if "request" in columns else 1
