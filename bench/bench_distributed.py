"""Data-parallel throughput: a lifter epoch and GAN iterations at 1 and 2 Gloo ranks on the CPU.

Each world size runs in freshly spawned processes (one per rank, ``--threads`` intra-op threads
each) that split every global batch of ``--batch`` rows as the training run does
(utils/distributed.py): single-frame VideoPose lifter steps (batch norm synchronised, gradients
all-reduced before clipping and Adam) and GAN iterations (3D and 2D critic steps with their mirrored
copies and the WGAN-GP penalty, then one generator step through both critics, DH FK included).

Printed per row: global samples/s, wall ms per step, ms per step inside collectives (gradient
all-reduce + batch-norm statistics; includes waiting for the slower rank) and that share of the
step, plus the cost of one all-reduce of all the lifter's gradients. ``--nccl`` adds the same on
one GPU with NCCL (one rank) and is skipped without CUDA. Random inputs: timing only.

    python bench/bench_distributed.py [--ranks 1,2] [--batch 1024] [--steps 4] [--gan-steps 4]
                                      [--width 256] [--threads 1] [--nccl]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from utils.distributed import DistContext, GradSyncOptimizer  # noqa: E402
from utils.local_processes import spawn_local  # noqa: E402


class CommTimer:
    """Wall time inside torch.distributed.all_reduce / all_gather (patched in this process)."""

    def __init__(self, device: torch.device) -> None:
        self.seconds = 0.0
        self._cuda = device.type == "cuda"
        for name in ("all_reduce", "all_gather"):
            setattr(dist, name, self._timed(getattr(dist, name)))

    def _timed(self, fn):
        def call(*args, **kwargs):
            if self._cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if self._cuda:
                    torch.cuda.synchronize()
                self.seconds += time.perf_counter() - start
        return call


def timed_steps(step, steps: int, timer: CommTimer, device: torch.device) -> tuple[float, float]:
    """(wall seconds, collective seconds) of ``steps`` calls of ``step`` after one warm-up call."""
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    timer.seconds = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, timer.seconds


def lifter_bench(ctx: DistContext, opts, timer: CommTimer) -> dict:
    from models.lifter_videopose import VideoPoseLifter
    from utils.distributed import convert_batchnorm
    dev, b = ctx.device, opts.batch
    model = convert_batchnorm(VideoPoseLifter(stages=4, channels=1024, dropout=0.25), ctx).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    x = ctx.shard(torch.randn(b, 16, 2, generator=g)).to(dev)
    y = ctx.shard(torch.randn(b, 16, 3, generator=g)).to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        ctx.global_mean((model(x) - y) ** 2, b).backward()
        ctx.allreduce_gradients(model.parameters())
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()

    wall, comm = timed_steps(step, opts.steps, timer, dev)
    flat = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    reduce_ms = float("nan")
    if ctx.backend is not None:
        start = time.perf_counter()
        for _ in range(3):
            dist.all_reduce(flat)
        reduce_ms = (time.perf_counter() - start) / 3 * 1000
    return {"workload": "lifter step (videopose 1024x4)", "wall": wall, "comm": comm,
            "steps": opts.steps, "allreduce_ms": reduce_ms, "params": flat.numel()}


def gan_bench(ctx: DistContext, opts, timer: CommTimer) -> dict:
    from function_dhaug.wgan import critic_step, frozen, generator_loss
    from models.dh_tables import DEFAULT_BONE_LENGTHS
    from models.gan_discriminators import Critic2D, Critic3D
    from models.gan_generator import PoseGenerator
    from utils.camera import h36m_camera_table, project_to_2d, world_to_camera
    from utils.skeleton import flip_pose, root_relative
    dev, b, w = ctx.device, opts.batch, opts.width
    g = torch.Generator().manual_seed(1)
    G = PoseGenerator(w, generator=g).to(dev)
    D3, D2 = Critic3D(w, generator=g).to(dev), Critic2D(w, generator=g).to(dev)
    opt_g = GradSyncOptimizer(torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9)), ctx)
    opt_d3 = GradSyncOptimizer(torch.optim.Adam(D3.parameters(), lr=1e-4, betas=(0.5, 0.9)), ctx)
    opt_d2 = GradSyncOptimizer(torch.optim.Adam(D2.parameters(), lr=1e-4, betas=(0.5, 0.9)), ctx)
    cam = h36m_camera_table(("S1",))[0, 0].to(dev)
    lengths = ctx.shard(torch.tensor(DEFAULT_BONE_LENGTHS).expand(b, -1) * 0.75).to(dev)
    with torch.no_grad():  # "real" poses: another draw of the untrained generator
        real = G(ctx.shard(torch.randn(b, G.noise_dim, generator=g)).to(dev), lengths).world
    real3d = root_relative(real)
    real2d = project_to_2d(world_to_camera(real, cam[9:13], cam[13:16]), cam)

    def draw(shape, normal: bool = False) -> torch.Tensor:
        """The whole global batch on every rank, then this rank's slice."""
        sample = torch.randn if normal else torch.rand
        return ctx.shard(sample(shape, generator=g)).to(dev)

    def step():
        with torch.no_grad():
            fake = G(draw((b, G.noise_dim), True), lengths).world
        fake2d = project_to_2d(world_to_camera(fake, cam[9:13], cam[13:16]), cam)
        for critic, opt, r, f in ((D3, opt_d3, real3d, root_relative(fake)),
                                  (D2, opt_d2, real2d, fake2d)):
            for rr, ff in ((r, f), (flip_pose(r), flip_pose(f))):
                critic_step(critic, opt, rr, ff, draw((b,)), 10.0)
        with frozen(D3, D2):
            gen = G(draw((b, G.noise_dim), True), lengths).world
            gen2d = project_to_2d(world_to_camera(gen, cam[9:13], cam[13:16]), cam)
            loss, _ = generator_loss(D3, D2, root_relative(gen), gen2d, 1.0, 1.0, True)
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()

    wall, comm = timed_steps(step, opts.gan_steps, timer, dev)
    return {"workload": f"GAN iteration (width {w}, 4 D + 1 G steps)", "wall": wall, "comm": comm,
            "steps": opts.gan_steps, "allreduce_ms": float("nan"), "params": 0}


def bench_rank(ctx: DistContext, opts) -> list[dict]:
    timer = CommTimer(ctx.device)
    return [lifter_bench(ctx, opts, timer), gan_bench(ctx, opts, timer)]


def summarise(per_rank: list, backend: str, world: int, batch: int) -> list[str]:
    lines = []
    for i, row in enumerate(per_rank[0]):
        wall = max(r[i]["wall"] for r in per_rank)          # the job is as slow as its slowest rank
        comm = sum(r[i]["comm"] for r in per_rank) / world
        steps = row["steps"]
        reduce_ms = row["allreduce_ms"]
        reduce_text = f"{'-':>10s}" if reduce_ms != reduce_ms else f"{reduce_ms:>10.1f}"  # NaN: -
        lines.append(f"{backend:<6s}{world:>6d}  {row['workload']:<42s}"
                     f"{steps * batch / wall:>11.0f}{wall / steps * 1000:>10.1f}"
                     f"{comm / steps * 1000:>10.1f}{100 * comm / wall:>8.1f} %{reduce_text}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ranks", default="1,2", help="comma-separated Gloo world sizes")
    p.add_argument("--batch", type=int, default=1024, help="global batch (split over the ranks)")
    p.add_argument("--steps", type=int, default=4, help="timed lifter steps (after one warm-up)")
    p.add_argument("--gan-steps", type=int, default=4, help="timed GAN iterations")
    p.add_argument("--width", type=int, default=256, help="generator and critic width")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per rank")
    p.add_argument("--nccl", action="store_true", help="also one GPU with NCCL (one rank)")
    opts = p.parse_args(argv)
    runs = [("gloo", int(n)) for n in opts.ranks.split(",")]
    if opts.nccl:
        if torch.cuda.is_available() and dist.is_nccl_available():
            runs.append(("nccl", 1))
        else:
            print("--nccl: no CUDA device (or no NCCL in this torch): GPU row skipped")
    print(f"global batch {opts.batch}, {opts.threads} thread(s) per rank; "
          f"comm = time inside all_reduce/all_gather")
    print(f"{'backend':<6s}{'ranks':>6s}  {'workload':<42s}{'samples/s':>11s}{'step ms':>10s}"
          f"{'comm ms':>10s}{'share':>10s}{'AR ms':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend, world in runs:
            device = torch.device("cuda" if backend == "nccl" else "cpu")
            per_rank = spawn_local(bench_rank, world, tmp, opts, device=device,
                                   threads=opts.threads)
            print("\n".join(summarise(per_rank, backend, world, opts.batch)), flush=True)
    print("AR ms: one all-reduce of all lifter gradients "
          f"({per_rank[0][0]['params'] / 1e6:.1f} M floats) on the process group")
    return 0


if __name__ == "__main__":
    sys.exit(main())
