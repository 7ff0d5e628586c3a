"""Job queue and worker: queued training runs that finish even when machines or processes die.

The queue is a SQLite database in the ganfactory home folder; a worker runs each job as
`ganfactory OPERATOR ARGS...` and resumes an interrupted one by running the same command again.
"""

from ganfactory.jobs.errors import JobError
from ganfactory.jobs.home import JobHome, resolve_home
from ganfactory.jobs.model import Job, JobStatus
from ganfactory.jobs.queue import JobQueue
from ganfactory.jobs.worker import run_worker

__all__ = ["Job", "JobError", "JobHome", "JobQueue", "JobStatus", "resolve_home", "run_worker"]
