"""Shared test settings.

One torch thread: the test models are tiny, and two OpenMP threads on a two-core machine that is also
running a subprocess spend more time waiting on each other than computing (measured ~20x slower per step).
"""

import logging
import subprocess

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def in_process(capsys):
    """`ganfactory.cli.main`, the function `python -m ganfactory` runs, in this process (a subprocess costs
    seconds of start-up per case); its logging set-up is undone afterwards."""
    from ganfactory.cli import main

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(*args: object) -> subprocess.CompletedProcess:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)
    yield run
    root.handlers[:] = handlers
    root.setLevel(level)
