"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, Callable

from ganfactory.errors import GanFactoryError
from ganfactory.output.pathtext import utf8_text


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


def disk_full_error(path: Path, exc: OSError) -> GanFactoryError:
    return GanFactoryError(f"No space left on the device while writing {path}; free some space and run the same "
                           "command again to resume.") if exc.errno == errno.ENOSPC else GanFactoryError(
        f"Could not write {path} ({exc.strerror or exc}); check the folder's permissions and free space.")


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)`, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_full_error(path, exc) from exc
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
