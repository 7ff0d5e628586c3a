"""Test-only launcher for torchrun: runs the real `ganfactory` command line in every rank and records, per rank,
a sha256 of each part of the training state, so a test can check that data-parallel ranks ended in step.

    python -m torch.distributed.run --standalone --nproc_per_node 2 rank_probe.py PROBE_DIR stylegan DATA OUT ...

Every rank writes PROBE_DIR/rank<R>.json ({part: sha256}) once training has finished, before generation. Nothing in
ganfactory knows about this: the script wraps the engine loop's `train`, as the driver calls it, from outside.

With GANFACTORY_TEST_CRASH=RANK:STEP, that rank exits with code 1 right after training step STEP, once (a marker
file in PROBE_DIR remembers it), so that torchrun's --max-restarts has a worker failure to recover from.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

import ganfactory.engine.driver as driver
from ganfactory.cli import main


def _feed(digest: Any, value: Any) -> None:
    """Hash a nested state (tensors, dicts, lists, numbers, strings) by content, in a fixed order."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(f"key:{key}".encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(repr(value).encode())


def state_digests(state: dict[str, Any]) -> dict[str, str]:
    digests = {}
    for part, value in state.items():
        digest = hashlib.sha256()
        _feed(digest, value)
        digests[part] = digest.hexdigest()
    return digests


def _crash_once(train_step: Any, *, rank: int, probe_dir: Path) -> Any:
    """train_step, but the rank named in GANFACTORY_TEST_CRASH exits with code 1 after its step, once."""
    spec = os.environ.get("GANFACTORY_TEST_CRASH")
    if not spec:
        return train_step
    crash_rank, crash_step = (int(part) for part in spec.split(":"))
    marker = probe_dir / "crashed"

    @functools.wraps(train_step)
    def step() -> dict[str, float]:
        values = train_step()
        if rank == crash_rank and train_step.__self__.steps == crash_step and not marker.exists():
            marker.write_text(f"rank {rank} exited after step {crash_step}\n")
            sys.stderr.flush()
            os._exit(1)
        return values

    return step


def _probing(train: Any, probe_dir: Path) -> Any:
    @functools.wraps(train)
    def wrapped(trainable: Any, **kwargs: Any) -> Any:
        rank = kwargs["context"].rank
        trainable.train_step = _crash_once(trainable.train_step, rank=rank, probe_dir=probe_dir)
        loop = train(trainable, **kwargs)
        digests = state_digests(trainable.state_dict())
        (probe_dir / f"rank{rank}.json").write_text(json.dumps(digests, indent=1, sort_keys=True))
        return loop

    return wrapped


if __name__ == "__main__":
    probe = Path(sys.argv[1])
    probe.mkdir(parents=True, exist_ok=True)
    driver.train = _probing(driver.train, probe)
    sys.exit(main(sys.argv[2:]))
