"""Several local processes joined into one process group without torchrun, for the tests and
benchmarks of distributed code (docs/distributed.md#launch)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Callable

import torch

from utils.distributed import init_distributed


def spawn_local(fn: Callable[..., Any], world_size: int, workdir: str | os.PathLike, *args: Any,
                device: torch.device | None = None, threads: int = 1) -> list:
    """Run ``fn(ctx, *args)`` in ``world_size`` fresh local processes and return their results.

    For tests and benchmarks: the processes join through a ``file://`` rendezvous in ``workdir``
    instead of torchrun (Gloo on the CPU, NCCL for a CUDA ``device``), each with ``threads``
    intra-op threads. ``fn`` must be importable (module level) and return a picklable value; an
    exception in any process ends all of them and is raised here.
    """
    import torch.multiprocessing as mp
    workdir = Path(workdir)
    tag = uuid.uuid4().hex
    mp.spawn(_spawned_rank, args=(fn, world_size, str(workdir), tag, device or torch.device("cpu"),
                                  threads, args), nprocs=world_size)
    return [torch.load(workdir / f"{tag}_rank{r}.pt", weights_only=False)
            for r in range(world_size)]


def _spawned_rank(rank: int, fn: Callable[..., Any], world_size: int, workdir: str, tag: str,
                  device: torch.device, threads: int, args: tuple) -> None:
    torch.set_num_threads(threads)
    env = {"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank)}
    ctx = init_distributed(device, env=env, init_method=f"file://{workdir}/{tag}_rendezvous")
    try:
        torch.save(fn(ctx, *args), f"{workdir}/{tag}_rank{rank}.pt")
    finally:
        ctx.close()
