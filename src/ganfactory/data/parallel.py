"""An order-preserving thread map for per-file work.

Threads suffice: file reads, hashing and PIL's decoders release the GIL, and threads avoid the
start-up and pickling costs of processes for many small files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """A thread count that keeps every core busy without swamping small machines."""
    return max(1, min(8, os.cpu_count() or 1))


def thread_map(function: Callable[[T], R], items: Iterable[T], *, workers: int | None = None) -> Iterator[R]:
    """Apply `function` to each item, results in input order; `workers` <= 1 runs inline."""
    count = default_workers() if workers is None else workers
    if count <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="ganfactory-data") as pool:
        yield from pool.map(function, items)
