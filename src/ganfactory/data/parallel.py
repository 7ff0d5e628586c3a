"""An order-preserving thread map for per-file work.

Threads, not processes: file reads, hashing and PIL's decoders release the GIL, and threads need no
start-up, no pickling and are safe in a process that already runs torch. Items go to the pool in
chunks, because one future per small file costs more than checking the file itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_CHUNK = 32


def default_workers() -> int:
    """A thread count that keeps every core busy without swamping small machines."""
    return max(1, min(8, os.cpu_count() or 1))


def thread_map(function: Callable[[T], R], items: Iterable[T], *, workers: int | None = None) -> Iterator[R]:
    """Apply `function` to each item, results in input order; `workers` <= 1 runs inline."""
    count = default_workers() if workers is None else workers
    items = list(items)
    if count <= 1 or len(items) <= 1:
        yield from map(function, items)
        return
    chunk = max(1, min(_CHUNK, len(items) // count))
    chunks = [items[start:start + chunk] for start in range(0, len(items), chunk)]
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="ganfactory-data") as pool:
        for results in pool.map(partial_map(function), chunks):
            yield from results


def partial_map(function: Callable[[T], R]) -> Callable[[Sequence[T]], list[R]]:
    """`function` lifted to a whole chunk."""
    def run(chunk: Sequence[T]) -> list[R]:
        return [function(item) for item in chunk]
    return run
