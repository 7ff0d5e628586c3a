"""`generate --shard K/N`: shards run in parallel into one OUT make the files and manifest of one unsharded run, and a
shard that was stopped fills only its own gap when it runs again."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from .conftest import CLI_ENV, cli_args, pixels

COUNT = ["--generate-num", "7", "--seed", "11", "--device", "cpu", "--precision", "fp32"]


def _files(out: Path) -> list[str]:
    return [p.relative_to(out).as_posix() for p in sorted((out / "Data").rglob("*.png"))]


def _same_images(a: Path, b: Path) -> None:
    """Same files with the same pixels: a shard batches other seeds together, but every batch is padded to one
    shape, so a seed goes through the same kernels and gives the same bytes."""
    assert _files(a) == _files(b)
    for name in _files(a):
        assert np.array_equal(pixels(a / name), pixels(b / name)), name


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


def test_a_shard_killed_with_sigkill_reruns_only_its_gap(trained, tmp_path):
    out = tmp_path / "out"
    args = cli_args("generate", trained, out, "--generate-num", "900", "--device", "cpu", "--precision", "fp32",
                    "--shard", "2/3")  # 300 seeds of each of the 2 classes
    shard_manifest = out / "shards" / "2-of-3.manifest"
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLI_ENV)
    deadline = time.monotonic() + 150  # a loaded machine starts torch slowly
    while not shard_manifest.is_file() or not shard_manifest.stat().st_size:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    listed = shard_manifest.read_bytes().count(b"\n")  # whole lines; a torn tail is cut when reopened
    assert 0 < listed < 600 and not (out / "shards" / "2-of-3.done").exists()
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600, env=CLI_ENV)
    assert rerun.returncode == 0, rerun.stderr
    assert f"Wrote {600 - listed} images" in rerun.stdout  # only the seeds its manifest lacked
    lines = [json.loads(line) for line in shard_manifest.read_text().splitlines()]
    assert sorted(line["seed"] for line in lines if line["class_index"] == 0) == list(range(1, 900, 3))
    assert len(lines) == len({line["id"] for line in lines}) == 600
    assert (out / "shards" / "2-of-3.done").exists() and not (out / "output_0.manifest").exists()  # 1, 3 to come
