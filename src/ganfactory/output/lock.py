"""One writer per output folder: an exclusive advisory lock (fcntl.flock) on OUT/.ganfactory.lock, held for as
long as a command writes there. A second process aiming at the same OUT is refused at once with one sentence, so
two generations never interleave their files and manifest lines. The kernel drops the lock when its process ends,
however it ends, so a killed run never leaves OUT locked; the file itself stays (removing it would race)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ganfactory.errors import InputError

LOCK_NAME = ".ganfactory.lock"


class OutputInUse(InputError):
    """Another process holds the output folder's lock."""


@contextmanager
def exclusive_output(root: Path) -> Iterator[Path]:
    """Hold OUT's lock for the body (OUT must exist); yields the lock file's path.
    Raises OutputInUse (one sentence naming OUT and the holder's pid) when another process holds it."""
    path = Path(root) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"Cannot write in {root} ({exc.strerror}); choose an output folder you can write to, or "
                         "fix its permissions.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        raise OutputInUse(f"{root} is being written by another ganfactory process"
                          f"{f' (pid {holder})' if holder.isdigit() else ''}; wait for it to finish, or write into "
                          "another folder.") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
