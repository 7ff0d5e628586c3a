"""Multi-process training through torch.distributed, launched by torchrun (single or multi node).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them training runs as one process. Gradients are
averaged with one all-reduce over a flat buffer per optimiser step (what DistributedDataParallel does under
the hood), because a GAN step runs the networks several times with changing requires_grad flags, which
DDP's module wrapper does not follow.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ganfactory.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    # Collectives need tensors where the backend lives: CUDA for NCCL, the CPU for gloo.
    comm_device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def device_for(self, device: torch.device) -> torch.device:
        return torch.device("cuda", self.local_rank) if device.type == "cuda" else device


def is_main_process() -> bool:
    """Rank 0, or a run without torchrun: the process that reports results to the user."""
    return int(os.environ.get("RANK", "0")) == 0


def init_distributed(device: torch.device) -> DistributedContext:
    """Join the process group when launched by torchrun (NCCL on CUDA, gloo on the CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        _init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(minutes=30))
    log.info("Distributed training: rank %d of %d.", rank, world_size)
    comm_device = torch.device("cuda", local_rank) if device.type == "cuda" else torch.device("cpu")
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank, comm_device=comm_device)


def _init_process_group(backend: str, *, rank: int, world_size: int, timeout: datetime.timedelta) -> None:
    """Join through torchrun's store, under a prefix of this attempt when torchrun shares its own store.

    torchrun (c10d rendezvous) lends the workers its TCPStore and keeps it when --max-restarts relaunches them;
    without a prefix per attempt the relaunched ranks read the dead ranks' addresses and fail to connect or
    hang (pytorch/pytorch#135712). TORCHELASTIC_RESTART_COUNT is the same on every rank an agent starts.
    """
    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT")
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True" or restart is None:
        dist.init_process_group(backend=backend, timeout=timeout)
        return
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size, is_master=False,
                          timeout=timeout)
    dist.init_process_group(backend=backend, store=dist.PrefixStore(f"ganfactory/attempt_{restart}", store),
                            rank=rank, world_size=world_size, timeout=timeout)


@contextmanager
def distributed_session(device: torch.device) -> Iterator[tuple[DistributedContext, torch.device]]:
    """Join the process group (when launched by torchrun) for the body, and leave it however the body ends.
    Yields the context and this rank's device."""
    context = init_distributed(device)
    try:
        yield context, context.device_for(device)
    finally:
        shutdown_distributed(context)


def shutdown_distributed(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def local_batch_size(batch_size: int, context: DistributedContext) -> int:
    """Each rank's share of the global batch; the batch must split evenly, or the ranks would train on more
    (or overlapping) images than the counters say."""
    if batch_size % context.world_size:
        raise ConfigError(f"--batch-size {batch_size} does not split evenly over the {context.world_size} training "
                          f"processes; use a multiple of {context.world_size}.")
    return batch_size // context.world_size


def average_tensors(tensors: Iterable[torch.Tensor], context: DistributedContext) -> None:
    """Replace each tensor, in place, by its mean over the ranks: one all-reduce of one flat buffer."""
    if not context.enabled:
        return
    tensors = list(tensors)
    if not tensors:
        return
    flat = torch.cat([t.detach().flatten() for t in tensors])
    dist.all_reduce(flat)
    flat /= context.world_size
    offset = 0
    for tensor in tensors:
        count = tensor.numel()
        tensor.detach().copy_(flat[offset:offset + count].view_as(tensor))
        offset += count


def average_gradients(parameters: Iterable[torch.nn.Parameter], context: DistributedContext) -> None:
    """All-reduce the gradients of these parameters as one flat buffer, then divide by the world size."""
    if context.enabled:
        average_tensors([p.grad for p in parameters if p.grad is not None], context)


def broadcast_module(module: torch.nn.Module, context: DistributedContext) -> None:
    """Start every rank from rank 0's weights and buffers."""
    if context.enabled:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """True on every rank when it is True on one (a stop request must stop all ranks at the same step)."""
    if not context.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.comm_device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def gather_cat(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Every rank's tensor (same shape on each), concatenated along dim 0, on every rank."""
    if not context.enabled:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(context.world_size)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)
