"""Checkpoints: full training state, written atomically, a `latest` pointer, the last few kept.

A checkpoint is a dict of tensors, numbers, strings and lists (state_dicts, optimiser states, RNG
states, counters, the resolved config); it never pickles code, and it is read with weights_only=True.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch

from ganfactory.errors import CheckpointError
from ganfactory.output.atomic import atomic_write, atomic_write_text, free_bytes
from ganfactory.output.layout import LATEST_POINTER, RunFolder

log = logging.getLogger(__name__)

_NAME = re.compile(r"^ckpt-(\d+)\.pt$")


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:09d}.pt"


def list_checkpoints(model_dir: Path) -> list[Path]:
    """Checkpoints in the folder, newest (highest step) first."""
    if not model_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in model_dir.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def save_checkpoint(state: dict[str, Any], model_dir: Path, *, step: int, keep: int = 3,
                    run_model_dir: Path | None = None, pinned: frozenset[str] | set[str] = frozenset()) -> Path:
    """Write ckpt-<step>.pt atomically, point `latest` at it, and delete all but the newest `keep` of this
    folder. A stage's folder (model/<stage>/) keeps its own checkpoints and pointer, so pruning never touches
    another stage's files; `run_model_dir` (model/) then also gets a `latest` pointing into the stage folder,
    so a run folder always names its newest model. Names in `pinned` (cited by the run's manifest) are kept
    beyond `keep`."""
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / checkpoint_name(step)
    needed = _state_bytes(state)
    atomic_write(path, lambda tmp: _torch_save(state, tmp, needed_bytes=needed), needed_bytes=needed)
    atomic_write_text(model_dir / LATEST_POINTER, path.name + "\n")
    if run_model_dir is not None and run_model_dir != model_dir:
        atomic_write_text(run_model_dir / LATEST_POINTER, path.relative_to(run_model_dir).as_posix() + "\n")
    prune_checkpoints(model_dir, keep=keep, pinned=pinned)
    return path


def prune_checkpoints(model_dir: Path, *, keep: int, pinned: frozenset[str] | set[str] = frozenset()) -> None:
    """Delete all but the newest `keep` checkpoints, never one named in `pinned`: a manifest line must not
    cite a checkpoint that is gone."""
    for old in list_checkpoints(model_dir)[max(keep, 1):]:
        if old.name not in pinned:
            old.unlink(missing_ok=True)


def _state_bytes(value: Any) -> int:
    """The bytes of every tensor in a (nested) state: about the size of the checkpoint file."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_state_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_state_bytes(v) for v in value)
    return 0


def _torch_save(state: dict[str, Any], tmp: Path, *, needed_bytes: int) -> None:
    """torch.save, with its write failures as OSError: its zip writer reports a full disk as a RuntimeError
    ("[enforce fail at inline_container.cc] unexpected pos"), which atomic_write would not recognise."""
    try:
        torch.save(state, tmp)
    except RuntimeError as exc:
        free = free_bytes(tmp.parent)
        written = tmp.stat().st_size if tmp.exists() else 0  # freed again once atomic_write removes it
        short = free is not None and free + written < needed_bytes
        raise OSError(errno.ENOSPC if short else errno.EIO, f"torch.save failed: {exc}") from exc


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist; pass the path of a .pt file from a run's model/ "
                              "folder.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"Checkpoint {path} is damaged or not a ganfactory checkpoint "
                              f"({type(exc).__name__}); use an earlier one from the same model/ folder.") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"Checkpoint {path} does not hold a training state; pass a ganfactory checkpoint.")
    return state


def _pointer_target(model_dir: Path) -> Path | None:
    pointer = model_dir / LATEST_POINTER
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return model_dir / name if name else None


def load_latest(model_dir: Path) -> tuple[dict[str, Any], Path] | None:
    """The newest good checkpoint; a missing or damaged latest one falls back to the previous with a warning."""
    candidates = list_checkpoints(model_dir)
    target = _pointer_target(model_dir)
    if target is not None:
        candidates = [target] + [c for c in candidates if c != target]
    for index, path in enumerate(candidates):
        try:
            state = load_checkpoint(path)
        except CheckpointError as exc:
            log.warning("%s Falling back to an earlier checkpoint.", exc)
            continue
        if index > 0:
            log.warning("Resuming from %s because the latest checkpoint was missing or damaged.", path.name)
        return state, path
    return None


def resolve_checkpoint_path(path: Path, *, prefer: str = "latest") -> Path:
    """A run folder, its model/ folder or a checkpoint file -> the checkpoint file to use.

    prefer: "best" takes the folder's best.pt (kept by a metric during training, engine.best) when there is
    one, else the latest; "latest" always the latest.
    """
    path = Path(path)
    if path.is_dir():
        model_dir = RunFolder(path).model_dir if RunFolder(path).model_dir.is_dir() else path
        best = model_dir / "best.pt"
        if prefer == "best" and best.is_file():
            return best
        target = _pointer_target(model_dir)
        candidates = ([target] if target and target.is_file() else []) + list_checkpoints(model_dir)
        if not candidates:
            raise CheckpointError(f"No checkpoint found in {path}; pass a run folder that finished at least one tick, "
                                  "or a .pt file.")
        return candidates[0]
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist; pass a run folder or a .pt/.onnx file.")
    return path


def find_checkpoint(path: Path, *, prefer: str = "latest") -> Path | None:
    """resolve_checkpoint_path, or None when there is no checkpoint (the caller reports it in its own words)."""
    try:
        return resolve_checkpoint_path(path, prefer=prefer)
    except CheckpointError:
        return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_provenance(path: Path) -> dict[str, str]:
    """What a manifest line records about the model that made the file."""
    return {"checkpoint_sha256": file_sha256(path), "checkpoint": path.name}


def checkpoint_run_root(checkpoint: Path) -> Path:
    """The run folder RUN of RUN/model/ckpt.pt or RUN/model/<stage>/ckpt.pt (for a checkpoint outside a model/
    folder: the folder above the one holding it)."""
    for parent in checkpoint.parents:
        if parent.name == "model":
            return parent.parent
    return checkpoint.parent.parent


def checkpoint_operator(state: dict[str, Any]) -> str | None:
    """The operator that wrote a checkpoint: its "meta" (format 2), else the operator state's own "operator"
    field (format 1); None when neither says."""
    meta = state.get("meta")
    if isinstance(meta, dict) and meta.get("operator"):
        return str(meta["operator"])
    inner = state.get("operator")
    if isinstance(inner, dict) and isinstance(inner.get("operator"), str):
        return inner["operator"]
    return None


def require_operator(state: dict[str, Any], name: str, path: Path,
                     legacy: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The operator state of a checkpoint written by operator `name`, or one sentence saying whose it is.
    `legacy` recognises this operator's older files that name no operator at all."""
    found = checkpoint_operator(state)
    if found is None and legacy is not None and isinstance(state.get("operator"), dict) and legacy(state["operator"]):
        found = name
    if found != name or not isinstance(state.get("operator"), dict):
        whose = f"a {found} checkpoint" if found else "not a ganfactory training checkpoint"
        raise CheckpointError(f"{path} is {whose}, not a {name} one; pass a run folder or checkpoint of a "
                              f"'ganfactory {name}' run.")
    return state["operator"]


def checkpoint_architecture(state: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved architecture a format-2 checkpoint records (None for format 1: rebuild from its config)."""
    meta = state.get("meta")
    return meta.get("architecture") if isinstance(meta, dict) else None


class Architecture(Protocol):
    """An operator's networks as its checkpoints record them (meta["architecture"]): a frozen value that rebuilds
    them without the run's options. Each operator has one (e.g. operators.stylegan.architecture)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe record the checkpoint keeps."""
        ...

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> Architecture | None:
        """The record of a whole checkpoint dict, upgraded to today's fields; None when the file records none."""
        ...


def architecture_difference(recorded: Architecture | None, current: Architecture) -> str:
    """"" when a checkpoint's recorded architecture equals the current one (or records none), else the
    differing values as text ("resolution 16 in the checkpoint, 32 now")."""
    if recorded is None:
        return ""
    old, new = recorded.to_dict(), current.to_dict()
    changed = [f"{key} {old.get(key)!r} in the checkpoint, {new.get(key)!r} now"
               for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
    return "; ".join(changed)
