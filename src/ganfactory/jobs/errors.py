"""The job queue's user-facing error type."""

from __future__ import annotations

from ganfactory.errors import GanFactoryError


class JobError(GanFactoryError):
    """A job request that cannot be honoured: unknown id, wrong state, conflicting run folder, bad option."""


class QueueUnavailable(JobError):
    """The queue's database cannot be reached right now; a worker waits and tries again, a command reports it."""
