"""utils.distributed: launch environment, batch split, and 2 Gloo processes whose gradient
all-reduce reproduces the 1-process step of the whole batch (MLP, lifter with synchronised batch
norm, WGAN-GP critic step with its double backward, generator step); a failing rank ends a
torchrun job within seconds."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

from function_dhaug.wgan import critic_step, frozen, generator_loss
from models.gan_discriminators import Critic2D
from models.lifter_videopose import VideoPoseLifter
from models.sync_batch_norm import SyncBatchNorm1d
import utils.distributed
from utils.distributed import (DistContext, GradSyncOptimizer, check_batch_size, chunk_bounds,
                               convert_batchnorm, init_distributed, read_launch_env, shard_bounds)
from utils.io import DataError
from utils.local_processes import spawn_local

ROOT = Path(__file__).resolve().parents[2]
WORLD = 2
LR = 1e-2


# ----------------------------------------------------------------------------- scenarios
def mlp_case(rows: int = 8) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(rows, 4, generator=g), torch.randn(rows, 2, generator=g)
    return model, x.double(), y.double()


def mlp_grads(ctx: DistContext, rows: int) -> list[torch.Tensor]:
    """Gradients of the MSE mean loss over a global batch of ``rows`` rows (this rank's share)."""
    model, x, y = mlp_case(rows)
    loss = ctx.global_mean((model(ctx.shard(x)) - ctx.shard(y)) ** 2, rows)
    loss.backward()
    ctx.allreduce_gradients(model.parameters())
    return [p.grad for p in model.parameters()]


def lifter_case() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(5)
    model = VideoPoseLifter(stages=1, channels=16, dropout=0.0).double()
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(8, 16, 2, generator=g), torch.randn(8, 16, 3, generator=g)
    return model, x.double(), y.double()


def lifter_step(ctx: DistContext) -> dict:
    """Two Adam steps of the lifter (batch norm synchronised) on this rank's half of the batch."""
    model, x, y = lifter_case()
    model = convert_batchnorm(model, ctx)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(ctx.shard(x)), ctx.shard(y)).backward()
        ctx.allreduce_gradients(model.parameters())
        grads = [p.grad.clone() for p in model.parameters()]
        opt.step()
    return {"grads": grads, "state": model.state_dict(),
            "synced": any(isinstance(m, SyncBatchNorm1d) for m in model.modules()),
            "buckets": len(utils.distributed._buckets(list(model.parameters())))}


def gan_case() -> tuple:
    g = torch.Generator().manual_seed(7)
    critic = Critic2D(16, generator=g).double()
    real = torch.randn(8, 16, 2, generator=g).double()
    fake = torch.randn(8, 16, 2, generator=g).double()
    alpha = torch.rand(8, generator=g).double()
    return critic, real, fake, alpha


def synced_critic_step(ctx: DistContext) -> dict:
    """The project's wgan.critic_step on this rank's rows; the wrapped optimiser all-reduces."""
    critic, real, fake, alpha = gan_case()
    opt = GradSyncOptimizer(torch.optim.Adam(critic.parameters(), lr=LR, betas=(0.5, 0.9)), ctx)
    critic_step(critic, opt, ctx.shard(real), ctx.shard(fake), ctx.shard(alpha), 10.0)
    return {"grads": [p.grad.clone() for p in critic.parameters()],
            "weights": [p.detach().clone() for p in critic.parameters()],
            "adam_steps": [int(s["step"]) for s in opt.state_dict()["state"].values()]}


def generator_case() -> tuple:
    torch.manual_seed(8)
    g = torch.Generator().manual_seed(8)
    gen = nn.Linear(4, 48).double()
    critic3d = nn.Sequential(nn.Flatten(), nn.Linear(48, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    critic2d = Critic2D(16, generator=g).double()
    return gen, critic3d, critic2d, torch.randn(8, 4, generator=g).double()


def generator_grads(ctx: DistContext) -> list[torch.Tensor]:
    """A generator step's gradients through both frozen critics, mirrored copies included."""
    gen, critic3d, critic2d, z = generator_case()
    with frozen(critic3d, critic2d):
        fake3d = gen(ctx.shard(z)).reshape(-1, 16, 3)
        fake2d = fake3d[..., :2] / (fake3d[..., 2:] + 5.0)
        loss, _ = generator_loss(critic3d, critic2d, fake3d, fake2d, 1.0, 0.5, flip=True)
        loss.backward()
    ctx.allreduce_gradients(gen.parameters())
    assert all(p.grad is None for p in critic2d.parameters())
    return [p.grad for p in gen.parameters()]


def collectives(ctx: DistContext) -> dict:
    full = torch.arange(14.0).reshape(7, 2)
    pool = torch.arange(36.0).reshape(12, 3)           # 3 global batches of 4 rows
    local_pool = torch.cat([ctx.shard(pool[b * 4:(b + 1) * 4]) for b in range(3)])
    # Gradient None on some ranks: rank 0 d/da = 2, d/db = 1; rank 1 d/da = 4, no b; c unused.
    a, b, c = (torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(3))
    (2 * a.sum() + b.sum() if ctx.rank == 0 else 4 * a.sum()).backward()
    ctx.allreduce_gradients([a, b, c])
    ctx.barrier()
    return {"shard": ctx.shard(full), "index": ctx.shard(torch.arange(10)),
            "gathered": ctx.gather_rows(ctx.shard(full)),
            "pool": ctx.gather_batch_shards(local_pool, 3),
            "object": ctx.broadcast_object({"run": "folder"} if ctx.is_main else None),
            "objects": ctx.gather_objects(ctx.rank),
            "average": ctx.average(torch.tensor([float(ctx.rank), 2.0])),
            "sum": ctx.all_sum(torch.tensor([ctx.rank + 1, 5])),
            "grads": (a.grad, b.grad, c.grad)}


def two_rank_results(ctx: DistContext) -> dict:
    assert dist.is_initialized() and ctx.backend == "gloo" and ctx.world_size == WORLD
    out = {"collectives": collectives(ctx), "mlp": mlp_grads(ctx, 8),
           "mlp_uneven": mlp_grads(ctx, 7)}
    utils.distributed.BUCKET_BYTES = 4096  # from here on: several buckets per all-reduce
    out.update(lifter=lifter_step(ctx), critic=synced_critic_step(ctx),
               generator=generator_grads(ctx))
    return out


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    return spawn_local(two_rank_results, WORLD, tmp_path_factory.mktemp("dist"))


def assert_all_close(got: list, ref: list, tol: float = 1e-10) -> None:
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


# ----------------------------------------------------------------------------- 2 ranks
def test_shard_and_gather_round_trip(two_ranks):
    full = torch.arange(14.0).reshape(7, 2)
    for rank, res in enumerate(two_ranks):
        c = res["collectives"]
        assert torch.equal(c["shard"], full[:4] if rank == 0 else full[4:])
        assert torch.equal(c["index"], torch.arange(5) + 5 * rank)
        assert torch.equal(c["gathered"], full)
        assert torch.equal(c["pool"], torch.arange(36.0).reshape(12, 3))  # batch order restored
        assert c["object"] == {"run": "folder"}
        assert c["objects"] == [0, 1]
        assert torch.equal(c["average"], torch.tensor([0.5, 2.0]))
        assert torch.equal(c["sum"], torch.tensor([3, 10]))


def test_missing_gradients_count_as_zero(two_ranks):
    for res in two_ranks:
        a, b, c = res["collectives"]["grads"]
        assert torch.equal(a, torch.full((2,), 3.0, dtype=torch.float64))
        assert torch.equal(b, torch.full((2,), 0.5, dtype=torch.float64))
        assert c is None


@pytest.mark.parametrize("key,rows", [("mlp", 8), ("mlp_uneven", 7)])
def test_mlp_gradients_equal_full_batch(two_ranks, key, rows):
    """Local means averaged over ranks = full-batch mean gradient (uneven: weighted by rows)."""
    model, x, y = mlp_case(rows)
    nn.functional.mse_loss(model(x), y).backward()
    for res in two_ranks:
        assert_all_close(res[key], [p.grad for p in model.parameters()])


def test_lifter_with_synchronised_batch_norm_equals_full_batch(two_ranks):
    model, x, y = lifter_case()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x), y).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        opt.step()
    for res in two_ranks:
        assert res["lifter"]["synced"] and res["lifter"]["buckets"] > 2
        assert_all_close(res["lifter"]["grads"], grads, 1e-9)
        state = res["lifter"]["state"]
        assert list(state) == list(model.state_dict())
        assert_all_close(list(state.values()), list(model.state_dict().values()), 1e-8)


def test_wgan_gp_critic_step_equals_one_rank(two_ranks):
    """Penalty with double backward on half batches + all-reduce = the whole-batch step."""
    critic, real, fake, alpha = gan_case()
    opt = torch.optim.Adam(critic.parameters(), lr=LR, betas=(0.5, 0.9))
    critic_step(critic, opt, real, fake, alpha, 10.0)
    grads = [p.grad for p in critic.parameters()]
    for res in two_ranks:
        assert_all_close(res["critic"]["weights"], [p.detach() for p in critic.parameters()])
        # The gradients themselves: Adam's first step only sees their signs.
        assert_all_close(res["critic"]["grads"], grads)
        assert set(res["critic"]["adam_steps"]) == {1}


def test_generator_step_equals_one_rank(two_ranks):
    ref = generator_grads(DistContext())
    for res in two_ranks:
        assert_all_close(res["generator"], ref)


# ----------------------------------------------------------------------------- one process
def test_plain_run_has_world_size_one_and_no_process_group():
    ctx = init_distributed(torch.device("cpu"), env={})
    assert (ctx.rank, ctx.world_size, ctx.is_main, ctx.backend) == (0, 1, True, None)
    assert not dist.is_initialized()
    t = torch.arange(6.0).reshape(3, 2)
    assert ctx.shard(t) is t and ctx.gather_rows(t) is t and ctx.broadcast_object(5) == 5
    model = nn.Sequential(nn.BatchNorm1d(2))
    assert convert_batchnorm(model, ctx) is model and type(model[0]) is nn.BatchNorm1d
    torch.testing.assert_close(ctx.global_mean(t, 3), t.mean())
    ctx.barrier()
    ctx.close()


def test_launch_environment_errors():
    base = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "h",
            "MASTER_PORT": "1"}
    assert read_launch_env(base) == (1, 2, 1)
    assert read_launch_env({}) is None
    with pytest.raises(DataError, match="MASTER_ADDR"):
        read_launch_env({k: v for k, v in base.items() if k != "MASTER_ADDR"})
    with pytest.raises(DataError, match="RANK='x'"):
        read_launch_env({**base, "RANK": "x"})
    with pytest.raises(DataError, match="inconsistent"):
        read_launch_env({**base, "RANK": "2"})


def test_batch_size_must_divide_world_size():
    check_batch_size(1024, 2)
    with pytest.raises(DataError, match="--batch_size 1024.*3"):
        check_batch_size(1024, 3)


def test_shard_and_chunk_bounds():
    assert [shard_bounds(10, 3, r) for r in range(3)] == [(0, 4), (4, 7), (7, 10)]
    assert [shard_bounds(1, 2, r) for r in range(2)] == [(0, 1), (1, 1)]
    # 5000 rows in 2048-row blocks: 3 blocks, 2 to rank 0 and 1 to rank 1.
    assert [chunk_bounds(5000, 2048, 2, r) for r in range(2)] == [(0, 4096), (4096, 5000)]
    assert [chunk_bounds(100, 2048, 2, r) for r in range(2)] == [(0, 100), (100, 100)]


FAILING_SCRIPT = """
import time, torch
from utils.distributed import init_distributed
ctx = init_distributed(torch.device("cpu"))
assert ctx.world_size == 2 and ctx.backend == "gloo"
ctx.barrier()
if ctx.rank == 1:
    raise RuntimeError("rank 1 fails on purpose")
time.sleep(300)  # rank 0 busy (e.g. a long evaluation): only the launcher can stop it
"""


def test_failing_rank_ends_torchrun_job_quickly(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(FAILING_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", "--monitor-interval", "0.1", str(script)],
                          env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stdout + proc.stderr
    assert elapsed < 60, f"torchrun took {elapsed:.0f} s to end the job"
