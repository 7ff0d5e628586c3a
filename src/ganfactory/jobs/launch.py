"""The command line a worker runs for a job: the operator itself, or torchrun around it for --nproc > 1."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ganfactory.jobs.model import Job

CommandBuilder = Callable[[Job], list[str]]


def operator_command_line(job: Job, *, python: str = sys.executable) -> list[str]:
    """`python -m ganfactory OPERATOR ARGS...`; running it again on the same OUT resumes the run. A job with a
    typed request runs exactly that request (its validated config, spelled out as flags), not the argv."""
    entry = ["-m", "ganfactory", job.operator, *(request_argv(job) if job.request else job.args)]
    return [python, *entry] if job.nproc <= 1 else [*torchrun_prefix(job, python=python), *entry]


def torchrun_prefix(job: Job, *, python: str = sys.executable) -> list[str]:
    """torchrun with the job's process count, up to (not including) the program it starts."""
    # `python -m torch.distributed.run` is torchrun from this interpreter's environment, whatever
    # is on PATH. --standalone picks a free rendezvous port, so several jobs can share a machine.
    return [
        python, "-m", "torch.distributed.run",
        "--standalone",
        "--nproc_per_node", str(job.nproc),
        "--max_restarts", str(job.max_restarts),
    ]


def request_argv(job: Job) -> list[str]:
    """The arguments of the job's typed request, read through its operator's spec."""
    from ganfactory.operators.command import OperatorRequest
    from ganfactory.operators.registry import get_operator

    assert job.request is not None
    return OperatorRequest.from_json(job.request, get_operator(job.operator)).argv()
