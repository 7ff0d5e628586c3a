"""Capture and restore every random number generator, so a resumed run draws what an uninterrupted one would."""

from __future__ import annotations

import hashlib
import random
from typing import Any, cast

import numpy as np
import torch


def capture_rng_state() -> dict[str, Any]:
    np_state = cast(tuple[Any, ...], np.random.get_state())  # the legacy tuple form
    state: dict[str, Any] = {
        "python": random.getstate(),
        # numpy's state holds an ndarray, which weights_only loading refuses: keep it as a tensor.
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_as_tuple(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def seeded_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


# --- data-parallel ranks ------------------------------------------------------------------------------
# A checkpoint holds rank 0's random streams only, so after a resume every rank would draw the same latents,
# noise and crops (a run on N processes would train as if on one). Rank 0 keeps its saved stream; every other
# rank reseeds from (that state, its rank): deterministic, and different on every rank.

def rank_seed(state: torch.Tensor, rank: int) -> int:
    """A 63-bit seed derived from a generator state and a rank."""
    digest = hashlib.sha256(state.cpu().numpy().tobytes() + rank.to_bytes(4, "little")).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def fork_generator_for_rank(generator: torch.Generator, rank: int) -> None:
    """After every rank restored the same state into `generator`: give ranks above 0 their own stream."""
    if rank > 0:
        generator.manual_seed(rank_seed(generator.get_state(), rank))


def fork_global_rng_for_rank(rank: int) -> None:
    """The same for the global torch (CPU and CUDA), numpy and Python generators."""
    if rank > 0:
        seed = rank_seed(torch.get_rng_state(), rank)
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
