"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganfactory.errors import GanFactoryError
from ganfactory.output.pathtext import utf8_text

log = logging.getLogger(__name__)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# `.NAME.tmp-PID@HOST` (HOST: since run folders may sit on storage that several machines write, e.g. shards of one
# generation; a pid says nothing about another machine's processes). `.NAME.tmp-PID`: written by older versions.
_TEMP_NAME = re.compile(r"^\..+\.tmp-(\d+)(?:@([^/]+))?$")
FOREIGN_TEMP_AGE_S = 24 * 3600  # another machine's temporary file older than this is a leftover, not a write


def _host() -> str:
    return socket.gethostname().replace("/", "_") or "localhost"


def _megabytes(num_bytes: int) -> str:
    return f"{num_bytes / 2**20:,.1f} MB"


def free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full_error(path: Path, exc: OSError, *, needed_bytes: int | None = None) -> GanFactoryError:
    """One sentence naming the file, its folder and (when known) the space it needs and the space free."""
    free = free_bytes(path.parent)
    space = ""
    if needed_bytes is not None:
        space = f": it needs about {_megabytes(needed_bytes)} and {path.parent} has " + (
            f"{_megabytes(free)} free" if free is not None else "an unknown amount free")
    if exc.errno == errno.ENOSPC:
        return GanFactoryError(f"No space left on the device while writing {path}{space}; free some space and run "
                               "the same command again to resume.")
    return GanFactoryError(f"Could not write {path} ({exc.strerror or exc}){space}; check the folder's permissions "
                           "and free space, then run the same command again to resume.")


def atomic_write(path: Path, write: Callable[[Path], object], *, needed_bytes: int | None = None) -> Path:
    """Call `write(tmp_path)`, fsync, then rename over `path`.

    An OSError from any step removes the temporary file and becomes one GanFactoryError sentence naming
    the folder (and `needed_bytes`, the expected size, when given). A temporary file left by a killed
    process is removed by `remove_stale_temp_files` when the folder is next opened.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}@{_host()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # a file in the way or a read-only disk: one sentence too
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_full_error(path, exc, needed_bytes=needed_bytes) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """UTF-8; a file name that is not valid UTF-8 inside `text` is kept as \\udcXX escapes (valid JSON)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(utf8_text(text)))


def atomic_write_json(path: Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def remove_stale_temp_files(folder: Path, *, recursive: bool = False) -> int:
    """Delete the temporary files of atomic_write whose writer is gone (a kill -9 mid-write leaves a whole
    checkpoint-sized `.name.tmp-PID@HOST` behind). Files of a live process are kept, and so are another machine's
    unless older than FOREIGN_TEMP_AGE_S (its pid cannot be checked from here). Returns how many went."""
    if not folder.is_dir():
        return 0
    removed = 0
    for candidate in folder.rglob(".*.tmp-*") if recursive else folder.glob(".*.tmp-*"):
        match = _TEMP_NAME.match(candidate.name)
        if match and candidate.is_file() and _abandoned(candidate, pid=int(match.group(1)), host=match.group(2)):
            candidate.unlink(missing_ok=True)
            removed += 1
            log.info("Removed %s, a temporary file left by an interrupted write.", candidate)
    return removed


def _abandoned(path: Path, *, pid: int, host: str | None) -> bool:
    if host is None or host == _host():
        return not _alive(pid)
    try:
        return time.time() - path.stat().st_mtime > FOREIGN_TEMP_AGE_S
    except OSError:
        return False
