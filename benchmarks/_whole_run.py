"""A whole StyleGAN2-ADA run as a user starts it (data loading, ADA at a forced p, R1, path length, EMA, ticks,
checkpoints), on synthetic images, with its steady-state s/kimg read from the run's own logs/stats.jsonl."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import run_stylegan


def synthetic_images(folder: Path, *, count: int, resolution: int, seed: int = 0) -> Path:
    """`count` RGB PNGs at `resolution`: smooth colour fields (so the decoder and ADA see image-like data)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((resolution, resolution), Image.Resampling.BICUBIC)
        image.save(folder / f"{index:05d}.png")
    return folder


def whole_run(data: Path, out: Path, **options: Any) -> dict[str, float]:
    """Train with StyleGANConfig(**options) (generate_num 0); wall seconds and the median sec/kimg of the ticks
    after the first (the first holds start-up, first-call kernel selection and the first checkpoint)."""
    config = StyleGANConfig(generate_num=0, do_validation=False, **options)
    started = time.perf_counter()
    run_stylegan(data, out, config, progress_bar=False)
    seconds = time.perf_counter() - started
    ticks = [json.loads(line) for line in (out / "logs" / "stats.jsonl").read_text().splitlines() if line.strip()]
    rates = [tick["sec_per_kimg"] for tick in ticks if "sec_per_kimg" in tick]
    steady = rates[1:] or rates
    return {"seconds": seconds, "sec_per_kimg": statistics.median(steady) if steady else float("nan"),
            "ticks": len(rates)}
