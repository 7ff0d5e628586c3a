"""How fast validate_dataset checks a folder, beside a naive full-decode baseline.

Builds a temporary dual-level folder of small images (PNG/JPEG mix with a few truncated, empty and
duplicate files), then prints images per second for:
  * baseline: Image.open + load() on every file, one thread (the obvious way to detect truncation);
  * validate_dataset with one worker and with the default thread pool.
Files were just written, so the page cache is warm: this measures CPU cost, not disk speed.

    .venv/bin/python benchmarks/validate_speed.py [--count 10000] [--size 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ganfactory.data.discovery import discover_images
from ganfactory.data.parallel import default_workers
from ganfactory.data.validation import validate_dataset

CLASSES = 4


def make_image(rng: np.random.Generator, size: int) -> Image.Image:
    """Smooth colour blobs plus grain: compresses like a small photo, not like noise or a flat fill."""
    coarse = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-12, 13, size=smooth.shape, dtype=np.int16)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def build_folder(root: Path, *, count: int, size: int, seed: int = 0) -> dict[str, int]:
    """Write `count` files over CLASSES classes; returns how many of each defect were planted."""
    rng = np.random.default_rng(seed)
    planted = {"truncated": 0, "empty": 0, "duplicate": 0}
    for index in range(count):
        folder = root / f"class_{index % CLASSES}"
        folder.mkdir(parents=True, exist_ok=True)
        fmt, ext = ("PNG", ".png") if index % 2 else ("JPEG", ".jpg")
        buffer = io.BytesIO()
        make_image(rng, size).save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        data = buffer.getvalue()
        if index % 1000 == 7:
            data, planted["truncated"] = data[: len(data) // 2], planted["truncated"] + 1
        elif index % 1000 == 11:
            data, planted["empty"] = b"", planted["empty"] + 1
        elif index % 1000 == 13 and index >= CLASSES * 2:
            data = (folder / f"img_{index - CLASSES * 2:05d}{ext}").read_bytes()  # an earlier file of this class
            planted["duplicate"] += 1
        (folder / f"img_{index:05d}{ext}").write_bytes(data)
    return planted


def full_decode_baseline(root: Path) -> int:
    """Open and fully decode every image; returns how many failed."""
    failed = 0
    for path in (path for _, path in discover_images(root).items()):
        try:
            with Image.open(path) as img:
                img.load()
        except (OSError, SyntaxError, ValueError):
            failed += 1
    return failed


def best_time(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Fastest of `repeat` runs (the least disturbed by other processes) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ganfactory-bench-") as temp:
        root = Path(temp) / "data"
        start = time.perf_counter()
        planted = build_folder(root, count=args.count, size=args.size)
        print(f"built {args.count} {args.size}x{args.size} PNG/JPEG files in {time.perf_counter() - start:.1f}s; "
              f"planted {planted}")
        base_s, base_failed = best_time(lambda: full_decode_baseline(root), args.repeat)
        print(f"baseline  full decode, 1 thread : {args.count / base_s:9.0f} images/s  ({base_s:.2f}s, "
              f"{base_failed} failed)")
        for workers in (1, default_workers()):
            seconds, report = best_time(lambda: validate_dataset(root, resolution=args.size, min_images=1,
                                                                 workers=workers), args.repeat)
            print(f"validate_dataset, {workers} worker(s)   : {args.count / seconds:9.0f} images/s  "
                  f"({seconds:.2f}s, {base_s / seconds:.2f}x baseline; {len(report.bad_files)} left out, "
                  f"usable={report.usable})")


if __name__ == "__main__":
    main()
