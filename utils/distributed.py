"""Data-parallel training over ``torchrun`` processes (docs/distributed.md#launch).

``init_distributed`` reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT) and joins the process group: NCCL when the run's device is CUDA (each rank on
``cuda:LOCAL_RANK``), Gloo otherwise. Without that environment (a plain ``python3 run_fk_gan.py``)
it returns a world-size-1 context and creates no process group; every collective below is then
a no-op, so one code path serves both.

The global batch (``--batch_size``) is split into contiguous per-rank slices
(docs/distributed.md#batch-split); every rank draws the random numbers of the whole global batch
from identically seeded generators and takes its slice (docs/distributed.md#randomness), and
gradients are averaged by :meth:`DistContext.allreduce_gradients` after each backward
(docs/distributed.md#gradient-sync).

Failure: a rank that raises exits non-zero; torchrun's agent then stops every other rank of the
job (SIGTERM, then SIGKILL) and exits non-zero itself, reporting the failing rank as the root
cause. The process-group timeout (default 30 min) bounds a collective waiting on a rank that hangs
without exiting.
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
import torch.distributed as dist
from torch import nn

from models.sync_batch_norm import convert_batchnorm1d
from utils.io import DataError

DEFAULT_TIMEOUT_S = 1800.0
# Gradient all-reduce bucket size: a 6.5M-parameter lifter is 2 calls, the GAN networks 1.
BUCKET_BYTES = 16 * 2 ** 20


def read_launch_env(env: Mapping[str, str],
                    need_master: bool = True) -> tuple[int, int, int] | None:
    """(rank, world_size, local_rank) from torchrun's variables, or None when not launched by it.

    ``need_master``: MASTER_ADDR and MASTER_PORT must be set too (the env:// rendezvous).
    """
    if "WORLD_SIZE" not in env:
        return None
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    names += ("MASTER_ADDR", "MASTER_PORT") if need_master else ()
    missing = [n for n in names if n not in env]
    if missing:
        raise DataError(f"WORLD_SIZE is set but {', '.join(missing)} is not: launch with torchrun "
                        f"(torchrun --standalone --nproc_per_node N run_fk_gan.py ...)")
    values = {}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        try:
            values[name] = int(env[name])
        except ValueError:
            raise DataError(f"environment variable {name}={env[name]!r} is not an "
                            f"integer") from None
    rank, world, local = values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"]
    if world < 1 or not 0 <= rank < world or local < 0:
        raise DataError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}, "
                        f"LOCAL_RANK={local}")
    return rank, world, local


def shard_bounds(n: int, world_size: int, rank: int) -> tuple[int, int]:
    """[start, stop) of ``rank``'s contiguous share of n rows; shares differ by at most one row
    (the first ``n % world_size`` ranks take the extra one)."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def chunk_bounds(n: int, chunk: int, world_size: int, rank: int) -> tuple[int, int]:
    """[start, stop) of ``rank``'s contiguous run of whole ``chunk``-row blocks of n rows.

    Evaluation shards made of whole EVAL_BATCH blocks feed the network exactly the batches of a
    1-rank evaluation, so the gathered predictions are bitwise those of the 1-rank run.
    """
    blocks = -(-n // chunk)
    lo, hi = shard_bounds(blocks, world_size, rank)
    return min(lo * chunk, n), min(hi * chunk, n)


def check_batch_size(batch_size: int, world_size: int) -> None:
    """The global --batch_size must split evenly over the ranks."""
    if batch_size % world_size:
        raise DataError(f"--batch_size {batch_size} is the global batch and must be divisible by "
                        f"the number of processes ({world_size}); use a multiple of {world_size}")


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job; the methods are no-ops at world size 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str | None = None       # None: no process group (plain single-process run)

    @property
    def is_main(self) -> bool:
        """Rank 0: the only writer of logs, metrics, TensorBoard, checkpoints, pictures, tqdm."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    # ---------------------------------------------------------------- batch split
    def bounds(self, n: int) -> tuple[int, int]:
        """[start, stop) of this rank's rows of an n-row global batch (see :func:`shard_bounds`)."""
        return shard_bounds(n, self.world_size, self.rank)

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice (along dim 0) of a global batch or index tensor (B, ...)."""
        if self.world_size == 1:
            return x
        start, stop = self.bounds(x.shape[0])
        return x[start:stop]

    def draw_global(self, draw: Callable[[int], torch.Tensor], local_rows: int) -> torch.Tensor:
        """This rank's slice of ``draw(local_rows * world_size)``: the random numbers of the whole
        (evenly split) global batch are drawn, so every rank's generator advances exactly as in a
        1-rank run (docs/distributed.md#randomness). ``draw(n)`` returns (n, ...)."""
        return self.shard(draw(local_rows * self.world_size))

    def global_mean(self, values: torch.Tensor, global_rows: int) -> torch.Tensor:
        """Loss of this rank's rows ``values`` (n_local, ...) whose averaged gradient is the
        gradient of the mean over all ``global_rows`` rows.

        That is ``world_size * sum(values) / (global_rows * elements per row)``: each rank
        backpropagates world_size times its share of the global mean, and the all-reduce average
        divides by world_size. With equal shards this is the local mean; with uneven ones (the last
        partial batch of an epoch) it weights each rank by its rows; an empty shard gives 0.
        """
        if self.world_size == 1:
            return values.mean()
        per_row = math.prod(values.shape[1:])
        return values.sum() * (self.world_size / (global_rows * per_row))

    # ---------------------------------------------------------------- gradients
    def allreduce_gradients(self, params: Iterable[torch.Tensor],
                            extra: torch.Tensor | None = None) -> torch.Tensor | None:
        """Average ``.grad`` of ``params`` over the ranks, in place, after ``loss.backward()``
        and before gradient clipping and ``optimizer.step()``.

        ``extra``: a small tensor (e.g. the step's loss) averaged in the same call, riding in the
        last bucket; returned averaged (``extra`` itself at world size 1, None without it).

        Why an explicit all-reduce and not the DistributedDataParallel wrapper: the WGAN-GP
        critic loss contains ``autograd.grad(..., create_graph=True)`` of the critic at the
        interpolates, then a backward through that graph. DDP reduces from hooks fired on
        parameter gradients during autograd; its documentation states it does not work with
        ``torch.autograd.grad``, and it has had wrong-gradient bugs with gradient penalties
        (pytorch/pytorch#47562) and errors with ``backward(create_graph=True)`` (#63812). In
        torch 2.13 on Gloo we measured, on a small critic with this step's structure (two forwards,
        penalty, one backward), correct gradients with default DDP but gradients off by 0.73 (max
        abs) with ``static_graph=True``: correctness rests on reducer internals and flags
        (static_graph, no_sync, find_unused_parameters) rather than on a documented guarantee.
        Averaging ``.grad`` once the whole backward has finished is exact by linearity whatever
        graph produced the gradients, needs no wrapper (state-dict names unchanged) and costs a
        few calls per step; it does not overlap communication with the backward
        (bench/bench_distributed.py measures that share).

        Gradients are flattened into buckets of at most BUCKET_BYTES per dtype and device. A
        parameter whose gradient is None on some ranks counts as zero there and receives the
        average; None on every rank stays None (Adam skips it, as in a 1-rank run). Parameters
        with requires_grad False are skipped.
        """
        if self.world_size == 1:
            return extra
        params = [p for p in params if p.requires_grad]
        buckets = _buckets(params)
        if not buckets:
            return None if extra is None else self.average(extra)
        averaged = None
        for b, bucket in enumerate(buckets):
            grads = [p.grad for p in bucket]
            like = next((g for g in grads if g is not None), bucket[0])
            tail = (extra.detach().reshape(-1).to(like) if extra is not None
                    and b == len(buckets) - 1 else like.new_zeros(0))
            flat = torch.cat([g.reshape(-1) if g is not None else like.new_zeros(p.numel())
                              for p, g in zip(bucket, grads)]
                             + [like.new_tensor([float(g is not None) for g in grads]), tail])
            dist.all_reduce(flat)
            if tail.numel():
                averaged = (flat[-tail.numel():] / self.world_size).to(extra).view_as(extra)
                flat = flat[:-tail.numel()]
            k = len(bucket)
            values = flat[:-k].div_(self.world_size)
            present = flat[-k:].tolist() if any(g is None for g in grads) else None
            offset = 0
            for i, (p, g) in enumerate(zip(bucket, grads)):
                part = values[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
                if g is not None:
                    g.copy_(part)
                elif present[i] > 0:
                    p.grad = part.clone()
        return averaged

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum of ``t`` over the ranks (a new tensor); e.g. an epoch's statistic sums and counts."""
        if self.world_size == 1:
            return t
        out = t.detach().clone()
        dist.all_reduce(out)
        return out

    def average(self, t: torch.Tensor) -> torch.Tensor:
        """Mean of ``t`` over the ranks (a new tensor); e.g. an epoch's stacked loss statistics."""
        if self.world_size == 1:
            return t
        return self.all_sum(t).div_(self.world_size)

    # ---------------------------------------------------------------- gathering
    def gather_rows(self, t: torch.Tensor) -> torch.Tensor:
        """Concatenate every rank's ``t`` (n_r, ...) in rank order; n_r may differ (padded for the
        collective, then trimmed). Inverse of :meth:`shard`. Returned on every rank."""
        if self.world_size == 1:
            return t
        comm = t.to(self.device)
        sizes = [torch.zeros(1, dtype=torch.long, device=self.device)
                 for _ in range(self.world_size)]
        dist.all_gather(sizes, torch.tensor([t.shape[0]], device=self.device))
        sizes = [int(s) for s in sizes]
        padded = comm.new_zeros((max(sizes),) + tuple(t.shape[1:]))
        padded[:t.shape[0]] = comm
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return torch.cat([p[:s] for p, s in zip(parts, sizes)]).to(t.device)

    def gather_batch_shards(self, t: torch.Tensor, batches: int) -> torch.Tensor:
        """``t`` holds this rank's equal shards of ``batches`` consecutive global batches
        (batches * s, ...); returns the global rows in batch order (batches * s * W, ...), e.g.
        an epoch's fake pool, so it equals the 1-rank pool."""
        if self.world_size == 1:
            return t
        if batches < 1 or t.shape[0] % batches:
            raise ValueError(f"{t.shape[0]} rows are not {batches} equal batch shards")
        rows = self.gather_rows(t)
        s = t.shape[0] // batches
        tail = tuple(t.shape[1:])
        rows = rows.reshape((self.world_size, batches, s) + tail).transpose(0, 1)
        return rows.reshape((-1,) + tail)

    def gather_batch_fields(self, tensors: Sequence[torch.Tensor],
                            batches: int) -> list[torch.Tensor]:
        """:meth:`gather_batch_shards` of several tensors with the same row count (e.g. a fake
        pool's 2D, 3D and cameras) in one collective: flattened side by side in their promoted
        dtype (exact for floating tensors), split and cast back afterwards."""
        if self.world_size == 1:
            return list(tensors)
        dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
        flat = torch.cat([t.reshape(t.shape[0], -1).to(dtype) for t in tensors], dim=1)
        rows = self.gather_batch_shards(flat, batches)
        out, start = [], 0
        for t in tensors:
            width = math.prod(t.shape[1:])
            out.append(rows[:, start:start + width].to(t.dtype).reshape((-1,) + t.shape[1:]))
            start += width
        return out

    def broadcast_object(self, obj: Any, src: int = 0) -> Any:
        """``obj`` of rank ``src`` on every rank (picklable; e.g. the run folder, a checkpoint)."""
        if self.world_size == 1:
            return obj
        box = [obj if self.rank == src else None]
        dist.broadcast_object_list(box, src=src)
        return box[0]

    def gather_objects(self, obj: Any) -> list:
        """Every rank's ``obj``, in rank order, on every rank (e.g. per-rank dropout RNG states)."""
        if self.world_size == 1:
            return [obj]
        out: list = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.world_size == 1:
            return
        if self.backend == "nccl":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group (call once at the end of the run, on every rank)."""
        if self.backend is not None and dist.is_initialized():
            dist.destroy_process_group()


class GradSyncOptimizer:
    """An optimiser whose ``step()`` first averages its parameters' gradients over the ranks.

    For steps where ``optimizer.step()`` directly follows ``loss.backward()`` (the critics' and the
    generator's): the step functions stay unchanged. Where gradients are clipped between the two
    (the pose net), call :meth:`DistContext.allreduce_gradients` before clipping instead. Every
    other attribute (zero_grad, state_dict, param_groups, ...) is the wrapped optimiser's.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, ctx: DistContext) -> None:
        self.optimizer = optimizer
        self.ctx = ctx

    def step(self, closure=None):
        self.ctx.allreduce_gradients(p for group in self.optimizer.param_groups
                                     for p in group["params"])
        return self.optimizer.step(closure)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def sync_optimizer(optimizer: torch.optim.Optimizer,
                   ctx: DistContext) -> torch.optim.Optimizer | GradSyncOptimizer:
    """``optimizer`` wrapped in :class:`GradSyncOptimizer` when there are several ranks; the plain
    optimizer itself at world size 1 (a single-process run is untouched)."""
    return GradSyncOptimizer(optimizer, ctx) if ctx.distributed else optimizer


def _buckets(params: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Consecutive parameters of one dtype and device, at most BUCKET_BYTES each (same split on
    every rank since the parameter lists are identical)."""
    out: list[list[torch.Tensor]] = []
    size = 0
    for p in params:
        nbytes = p.numel() * p.element_size()
        if not out or out[-1][0].dtype != p.dtype or out[-1][0].device != p.device or \
                size + nbytes > BUCKET_BYTES:
            out.append([])
            size = 0
        out[-1].append(p)
        size += nbytes
    return out


def init_distributed(device: torch.device, env: Mapping[str, str] | None = None,
                     init_method: str | None = None,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> DistContext:
    """Join the job torchrun started, or return the single-process context.

    device: the run's resolved device (utils.device.resolve_device); a CUDA device becomes
    ``cuda:LOCAL_RANK`` (--gpu_id is ignored under torchrun; choose GPUs with
    CUDA_VISIBLE_DEVICES). env: defaults to os.environ. init_method: defaults to ``env://``
    (MASTER_ADDR/MASTER_PORT); tests pass ``file://...``. timeout_s: process-group timeout.
    """
    launch = read_launch_env(os.environ if env is None else env, need_master=init_method is None)
    if launch is None:
        return DistContext(device=device)
    rank, world, local = launch
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if local >= count:
            raise DataError(f"LOCAL_RANK {local} needs GPU {local} but this machine shows {count}: "
                            f"use --nproc_per_node <= {count}")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    extra = {"device_id": device} if backend == "nccl" else {}
    dist.init_process_group(backend, init_method=init_method or "env://", rank=rank,
                            world_size=world, timeout=timedelta(seconds=timeout_s), **extra)
    return DistContext(rank, world, local, device, backend)


def convert_batchnorm(model: nn.Module, ctx: DistContext) -> nn.Module:
    """Synchronise the batch statistics of ``model``'s BatchNorm layers over the ranks.

    CUDA: torch.nn.SyncBatchNorm; CPU/Gloo: models.sync_batch_norm.SyncBatchNorm1d (torch's does
    not run there). Parameters and buffers are shared with the old layers and state-dict names
    stay the same. World size 1: ``model`` unchanged. Returns the (possibly new) model; call it
    before building the optimiser or keep the same parameter objects (both work).
    """
    if ctx.world_size == 1:
        return model
    if ctx.device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return convert_batchnorm1d(model)
