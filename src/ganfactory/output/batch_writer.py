"""Writing a batch of generated images on a worker thread while the next batch is generated.

PNG/JPEG encoding and the fsync of each atomic write take milliseconds per file; done inline they stall the
generator between batches. Here a batch's files go to one worker thread, and the manifest lines of that batch
are put on the calling thread only once its files are whole, so a manifest line never names a missing or
half-written file, and the manifest itself is only ever touched from one thread.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import torch

from ganfactory.output.images import save_image
from ganfactory.output.manifest import ManifestWriter


class BatchWriter:
    """Files of one batch written in the background, their manifest lines put when they are whole.

    Use as a context manager; leaving it (normally or by an exception such as RunInterrupted) waits for the
    batch in flight and puts its lines, so a stop never loses an image that was already generated. An error
    while writing (disk full, permissions) is raised from the next `submit` or from the exit.
    """

    def __init__(self, manifest: ManifestWriter, *, image_format: str = "png") -> None:
        self._manifest = manifest
        self._format = image_format
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganfactory-writer")
        self._pending: tuple[Future[None], list[dict[str, Any]]] | None = None

    def submit(self, files: list[tuple[torch.Tensor, Path]], entries: list[dict[str, Any]]) -> None:
        """Queue uint8 [C, H, W] images for their paths; `entries` (one manifest line per file) are put once
        they are written. Waits first for the batch before, so at most one batch is in flight. The images must
        not be changed afterwards (they are read on the worker thread)."""
        self.settle()
        if files:
            self._pending = (self._pool.submit(self._write, files),
                             entries)

    def _write(self, files: list[tuple[torch.Tensor, Path]]) -> None:
        for image, path in files:
            save_image(image, path, image_format=self._format)

    def settle(self) -> None:
        """Wait for the batch in flight, put its manifest lines (re-raising a write error), and flush the manifest
        (also the removals made since the last flush)."""
        if self._pending is not None:
            future, entries = self._pending
            self._pending = None
            future.result()
            for entry in entries:
                self._manifest.put(entry)
        self._manifest.flush()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            self.settle()
        finally:
            self._pool.shutdown(wait=True)
