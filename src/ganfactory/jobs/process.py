"""Start a job's process detached from the worker's terminal, stop it gracefully, or kill its whole tree."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def start_job_process(*, argv: list[str], cwd: Path, log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start argv with stdout and stderr appended to log_path, in its own session.

    Its own session: a Ctrl-C in the worker's terminal reaches only the worker, which then stops the
    job once, gracefully (the engine treats a second signal as "stop at once, no checkpoint").
    Output goes straight to the file, not through a pipe, so the job never blocks or breaks on a
    dead reader if the worker disappears.
    """
    with log_path.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent_hook(),
        )


def _stop_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, make the kernel send SIGTERM to the job when the worker dies (even by kill -9).

    The job then saves a checkpoint and exits, instead of running on as an orphan next to the copy
    that another worker starts after reclaiming it. Elsewhere, the heartbeat lease is the only guard.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: no loader work in the child
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the worker died before the hook ran: nobody is left to supervise
            os._exit(75)

    return hook


def request_stop(proc: subprocess.Popen) -> None:
    """Send one SIGTERM to the job's main process (the operator or torchrun), which saves and exits."""
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the job and everything it started, including torchrun's ranks in their own sessions."""
    victims = [proc.pid, *descendants(proc.pid)]  # collected first: killing reparents the children
    for pid in victims:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    log.warning("Killed job process %d and %d descendants.", proc.pid, len(victims) - 1)


def descendants(pid: int) -> list[int]:
    """All live descendants of pid, read from /proc (Linux); [] where /proc is not available."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        parent = _parent_pid(int(entry))
        if parent is not None:
            children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return found


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return None
    # Field 4 (ppid) follows the command name, which is in parentheses and may contain spaces.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None
