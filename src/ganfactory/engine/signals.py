"""Graceful stop: SIGTERM or Ctrl-C asks the loop to finish its step, save a checkpoint and exit."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)


class StopRequest:
    """A flag the training loop polls between steps; set by a signal or by code (tests, the job worker)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self._previous: dict[int, Any] = {}

    def set(self, reason: str = "requested") -> None:
        self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.is_set():  # a second signal: the user means it, stop at once
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
            return
        log.warning("Received %s: saving a checkpoint, then stopping.", signal.Signals(signum).name)
        self.set(signal.Signals(signum).name)

    def install(self) -> "StopRequest":
        """Install the handlers (main thread only; elsewhere the flag still works when set by code)."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __enter__(self) -> "StopRequest":
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()
