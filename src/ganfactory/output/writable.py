"""Can a command write its output? Asked once, before the long part, so that a read-only, full or impossible
OUT costs one sentence and not hours of features, U-Nets or projections that are then lost.

The question is answered by doing what the command will do, on a small scale: create a file in the folder
(or, while OUT does not exist yet, in its nearest existing parent, where OUT will be created), write a page
to it, fsync, close and remove it. Permission bits alone would not do: root passes every `os.access` test,
yet a read-only mount refuses it (EROFS); and creating an empty file succeeds on a full disk, where only the
first data block fails (ENOSPC, at write on ext4/tmpfs, at fsync or close on some other filesystems). Nothing
is left behind and OUT is not created. A disk with a few free pages passes; a write that fills it later still
ends in one sentence (output.atomic), only later.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ganfactory.errors import InputError

PROBE_BYTES = 4096  # one page: a block has to be allocated, as for any real file


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def probe_write(folder: Path) -> None:
    """Create, write, fsync, close and remove a file in `folder`; raises the OSError of the first step that fails."""
    probe = folder / f".ganfactory-write-probe-{os.getpid()}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # one left by a killed process is reused
    try:
        left = memoryview(b"\0" * PROBE_BYTES)
        while left:  # a nearly full disk may take part of it; the next write then says ENOSPC
            left = left[os.write(fd, left):]
        os.fsync(fd)
    finally:
        try:
            os.close(fd)
        finally:
            probe.unlink(missing_ok=True)


def unwritable_error(folder: Path, exc: OSError) -> InputError:
    """One sentence naming the folder, the cause and the fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(f"No space left on the device that holds {folder} ({exc.strerror}); free some space there "
                          "or choose an output folder on another disk, then run the command again.")
    if exc.errno == errno.EROFS:
        return InputError(f"Cannot write in {folder}: it is on a read-only file system; choose an output folder "
                          "on a writable disk.")
    return InputError(f"Cannot write in {folder} ({exc.strerror or exc}); choose an output folder you can write "
                      "to, or fix its permissions.")


def require_writable_output(*folders: Path) -> None:
    """Raise InputError (one sentence) unless each of `folders`, the folders a command is about to write in
    (created when missing), can take a file. Creates nothing; see the module docstring for how it is asked."""
    probed: set[Path] = set()
    for given in folders:
        folder = Path(given).expanduser()
        existing = _nearest_existing(folder)
        if not existing.is_dir():
            what = "is a file" if existing.exists() else "is a broken symlink"
            if existing == folder:
                raise InputError(f"The output folder {folder} {what}; move it away or choose another output folder.")
            raise InputError(f"Cannot create the output folder {folder}: {existing} {what}, not a folder; choose "
                             "another output folder.")
        if existing in probed:
            continue
        probed.add(existing)
        try:
            probe_write(existing)
        except OSError as exc:
            raise unwritable_error(existing, exc) from exc
