"""Graceful stop: SIGTERM or Ctrl-C asks the loop to finish its step, save a checkpoint and exit."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from ganfactory.errors import GanFactoryError

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: stopped on request after saving; running the same command resumes


class RunInterrupted(GanFactoryError):
    """A run stopped on request (SIGTERM, Ctrl-C, the job worker) with its work so far saved."""

    exit_code = EXIT_INTERRUPTED


class StopRequest:
    """A flag the training loop polls between steps; set by a signal or by code (tests, the job worker)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self._previous: dict[int, Any] = {}
        self._depth = 0  # nested `with stop:` (the driver, then the training loop) install once

    def set(self, reason: str = "requested") -> None:
        self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def raise_if_set(self, done: str) -> None:
        """Between two units of work (a batch of generated images): stop here when asked. `done` says what is
        saved so far; raises RunInterrupted (exit 75) with the resume hint."""
        if self.is_set():
            raise RunInterrupted(f"Stopped ({self.reason or 'requested'}) after {done}; run the same command "
                                 "to resume.")

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.is_set():  # a second signal: the user means it, stop at once
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
            return
        self.set(signal.Signals(signum).name)
        # Logged from another thread: the signal may arrive while this thread holds the progress bar's or a
        # logging handler's lock, and writing from inside the handler would take that lock again.
        threading.Thread(target=log.warning, args=("Received %s: saving the work in hand (a checkpoint, a batch of "
                                                    "images), then stopping.", signal.Signals(signum).name)).start()

    def install(self) -> StopRequest:
        """Install the handlers (main thread only; elsewhere the flag still works when set by code)."""
        self._depth += 1
        if self._depth == 1 and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def uninstall(self) -> None:
        self._depth = max(self._depth - 1, 0)
        if self._depth:
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __enter__(self) -> StopRequest:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()
