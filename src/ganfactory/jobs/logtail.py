"""Read the end of a job's log: the lines of the latest attempt and the line that explains a failure."""

from __future__ import annotations

import re
from pathlib import Path

# The worker writes this before each attempt, so the current attempt's output can be told apart.
ATTEMPT_MARKER = "==> ganfactory jobs:"

# Lines that frame an error rather than state it: torchrun's failure report and Python's traceback.
_NOISE = re.compile(
    r"^(\s|Traceback \(most recent call last\)|\[\d+\]:|Failures:|Root Cause|<NO_OTHER_FAILURES>"
    r"|[=\-*#~^]+$|.* FAILED$|torch\.distributed\.elastic\.multiprocessing\.errors\.ChildFailedError"
    r"|[WIE]\d{4} |\[[WIE] |(INFO|DEBUG) )"
)
_TORCHRUN_EXIT = re.compile(r"^\s*exitcode\s*:\s*(-?\d+)")
_CLI_PREFIX = "error: "


def read_tail(path: Path, *, max_bytes: int = 64 * 1024) -> list[str]:
    """The last lines of a file (at most max_bytes of it); [] when it does not exist."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(size - max_bytes, 0))
            data = handle.read()
    except FileNotFoundError:
        return []
    lines = terminal_lines(data.decode("utf-8", errors="replace"))
    return lines[1:] if size > max_bytes and lines else lines  # the first line may be cut


def terminal_lines(text: str) -> list[str]:
    """The lines as a terminal shows them: a progress bar rewrites its line with '\r', so only the text after
    the last '\r' of a line stays (a '\r\n' line ending is one ending, not a rewrite)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the text ended with a newline
    return [line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines]


def current_attempt(lines: list[str]) -> list[str]:
    """The lines written since the last attempt marker."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(ATTEMPT_MARKER):
            return lines[index + 1:]
    return lines


def last_meaningful_line(lines: list[str]) -> str | None:
    """The last line that states a problem: the CLI's one-line error, or a traceback's final line."""
    for line in reversed(lines):
        text = line.rstrip()
        if not text or text.startswith(ATTEMPT_MARKER) or _NOISE.match(text):
            continue
        return text[len(_CLI_PREFIX):] if text.startswith(_CLI_PREFIX) else text
    return None


def torchrun_root_exit_code(lines: list[str]) -> int | None:
    """The exit code torchrun reports for the root-cause rank (listed last), since torchrun itself exits 1."""
    for line in reversed(lines):
        match = _TORCHRUN_EXIT.match(line)
        if match:
            return int(match.group(1))
    return None
