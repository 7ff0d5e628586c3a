"""`generate --shard K/N`: shards run in parallel into one OUT make the files and manifest of one unsharded run, and a
shard that was stopped fills only its own gap when it runs again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from .conftest import CLI_ENV, cli_args, pixels

COUNT = ["--generate-num", "7", "--seed", "11", "--device", "cpu", "--precision", "fp32"]


def _files(out: Path) -> list[str]:
    return [p.relative_to(out).as_posix() for p in sorted((out / "Data").rglob("*.png"))]


def _same_images(a: Path, b: Path) -> None:
    """Same files with the same pixels, up to a rounding step: a shard batches other seeds together, and a batch of
    another size may take another convolution kernel whose float sums round differently."""
    assert _files(a) == _files(b)
    for name in _files(a):
        assert np.abs(pixels(a / name) - pixels(b / name)).max() <= 2, name


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "output_0.manifest").read_text().splitlines() if line.strip()]


def _key(entry: dict) -> tuple:
    return entry["id"], entry["seed"], entry["class_index"], Path(entry["source"]).name


def test_three_shards_in_parallel_equal_one_unsharded_run_and_a_rerun_fills_the_gap(trained, cli, tmp_path):
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    assert cli("generate", trained, whole, *COUNT).returncode == 0
    shards = [subprocess.Popen(cli_args("generate", trained, sharded, *COUNT, "--shard", f"{k}/3"), env=CLI_ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k in (1, 2, 3)]
    outputs = [proc.communicate(timeout=300)[0] for proc in shards]
    assert [proc.returncode for proc in shards] == [0, 0, 0], outputs
    _same_images(sharded, whole)  # 2 classes x 7 seeds
    assert len(_files(whole)) == 14
    assert [_key(e) for e in _lines(sharded)] == [_key(e) for e in _lines(whole)]  # same ids, seeds, order
    assert sum("merged 14 lines" in text for text in outputs) >= 1

    # Shard 2 "was killed" after its first image: its last lines, their files and its completion marker are gone.
    shard_manifest = sharded / "shards" / "2-of-3.manifest"
    kept, lost = shard_manifest.read_text().splitlines()[:1], shard_manifest.read_text().splitlines()[1:]
    shard_manifest.write_text("".join(line + "\n" for line in kept))
    for line in lost:
        Path(json.loads(line)["source"]).unlink()
    (sharded / "shards" / "2-of-3.done").unlink()
    others = {name: (sharded / name).stat().st_mtime_ns for name in _files(sharded)}
    rerun = cli("generate", trained, sharded, *COUNT, "--shard", "2/3")
    assert rerun.returncode == 0, rerun.stderr
    assert f"Wrote {len(lost)} images" in rerun.stdout  # only the gap
    _same_images(sharded, whole)
    assert all((sharded / name).stat().st_mtime_ns == stamp for name, stamp in others.items())  # untouched
    assert [_key(e) for e in _lines(sharded)] == [_key(e) for e in _lines(whole)]


def test_a_bad_shard_is_one_sentence(trained, cli, tmp_path):
    result = cli("generate", trained, tmp_path / "out", "--shard", "4/3")
    assert result.returncode == 2 and "--shard must be K/N with 1 <= K <= N" in result.stderr
    assert "Traceback" not in result.stderr
