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
def exclusive_output(root: Path, *, shard: str = "") -> Iterator[Path]:
    """Hold OUT's lock for the body (OUT must exist); yields the lock file's path.

    shard: "" for a whole command (an exclusive lock: no other writer at all), or a shard's name ("2-of-3",
    `generate --shard`): the shards of one generation share OUT (a shared lock on OUT's file, which still keeps any
    unsharded writer out) and each holds its own exclusive lock, so one shard never runs twice at once.
    Raises OutputInUse (one sentence naming OUT and the holder's pid) when another process holds what is needed."""
    if not shard:
        with _locked(Path(root), Path(root) / LOCK_NAME, fcntl.LOCK_EX) as path:
            yield path
        return
    with _locked(Path(root), Path(root) / LOCK_NAME, fcntl.LOCK_SH), \
            _locked(Path(root), Path(root) / f".ganfactory-shard-{shard}.lock", fcntl.LOCK_EX) as path:
        yield path


@contextmanager
def _locked(root: Path, path: Path, mode: int) -> Iterator[Path]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"Cannot write in {root} ({exc.strerror}); choose an output folder you can write to, or "
                         "fix its permissions.") from None
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        raise OutputInUse(f"{root} is being written by another ganfactory process"
                          f"{f' (pid {holder})' if holder.isdigit() else ''}; wait for it to finish, or write into "
                          "another folder.") from None
    try:
        if mode == fcntl.LOCK_EX:  # a shared lock's holders are many: none of them owns the pid line
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
