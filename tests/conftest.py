"""Shared test settings.

One torch thread: the test models are tiny, and two OpenMP threads on a two-core machine that is also
running a subprocess spend more time waiting on each other than computing (measured ~20x slower per step).
"""

import logging
import os
import subprocess

import pytest
import torch

torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tests first: a file that holds a `subprocess` test (child processes, seconds each) runs after every
    file that holds none, so a quick failure shows early. A file stays whole (its module fixtures are built once,
    and `--dist loadfile` hands whole files to workers in this order)."""
    slow = {item.path for item in items if item.get_closest_marker("subprocess") is not None}
    items.sort(key=lambda item: item.path in slow)  # stable: collection order within each group


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


def _fill(folder, leave: int = 0) -> None:
    """Write into `folder` until its file system says ENOSPC (a real full disk, not a simulated one); then give
    back `leave` bytes, for a disk that fills up part-way through a command."""
    import errno

    chunk = b"\0" * (1 << 16)
    with open(folder / ".filler", "wb", buffering=0) as handle:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    handle.write(chunk[:size])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    if leave:
        filler = folder / ".filler"
        os.truncate(filler, max(0, filler.stat().st_size - leave))


@pytest.fixture
def unwritable_fs(tmp_path):
    """unwritable_fs(kind, populate=None) -> a folder on a small tmpfs of its own that is then made read-only
    (kind "read_only": EROFS, which stops root too) or full (kind "full": ENOSPC), after populate(folder) wrote
    what a command reads there. Mounting needs root with CAP_SYS_ADMIN: elsewhere the test is skipped (the
    tests beside it that put OUT under a regular file run everywhere). `leave`: bytes given back after filling."""
    import shutil

    mounts = []

    def make(kind, populate=None, *, size="32m", leave=0):
        mountpoint = tmp_path / f"fs{len(mounts)}"
        mountpoint.mkdir()
        if shutil.which("mount") is None or subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
                capture_output=True).returncode != 0:
            pytest.skip("mounting a small tmpfs needs root with CAP_SYS_ADMIN")
        mounts.append(mountpoint)
        if populate is not None:
            populate(mountpoint)
        if kind == "read_only":
            subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], check=True, capture_output=True)
        else:
            _fill(mountpoint, leave)
        return mountpoint

    yield make
    for mountpoint in reversed(mounts):
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
