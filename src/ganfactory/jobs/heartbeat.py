"""A background thread that keeps a running job's lease fresh and notices cancel requests."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from ganfactory.jobs.queue import JobQueue

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every `every` seconds until closed; the supervising loop reads the two flags."""

    def __init__(self, *, queue: JobQueue, job_id: int, lease: str, every: float) -> None:
        self._queue = queue
        self.job_id = job_id
        self._lease = lease
        self._every = every
        self._closed = threading.Event()
        self.cancel_requested = threading.Event()
        self.lease_lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-job-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._closed.wait(self._every):
            try:
                beat = self._queue.heartbeat(self.job_id, lease=self._lease)
            except Exception as exc:  # noqa: BLE001
                # A busy or briefly unavailable database: the lease survives as long as a later beat
                # lands within the stale timeout, so keep trying. Never let this thread die: a job whose
                # heartbeat stopped is reclaimed, and this worker would not learn it must stop its copy.
                log.warning("Job %d: heartbeat failed (%s); retrying.", self.job_id, exc)
                continue
            if not beat.alive:
                log.error("Job %d: this worker lost its lease (presumed dead); stopping the job.", self.job_id)
                self.lease_lost.set()
                return
            if beat.cancel_requested and not self.cancel_requested.is_set():
                log.info("Job %d: cancel requested.", self.job_id)
                self.cancel_requested.set()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed.set()
        self._thread.join()
