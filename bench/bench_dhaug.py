"""Cost of one single-frame DH-AUG GAN epoch vs one lifter epoch over the same samples.

Prints the fake training pairs generated per second by ``GANAugmenter.run_epoch`` with the time
split (real-batch data, generator MLP, angle mapping + DH FK, projection, critic steps, generator
step, other), and the time of one ``train_epoch`` of the single-frame VideoPose lifter (4 stages,
mirrored second step on) over the same number of samples. Target: GAN epoch <= 2 x lifter epoch.

Defaults: CPU, 2 threads, batch 1024, README widths (256), 10 GAN iterations (10240 samples).
Data: the synthetic dataset when ``data/synthetic/data_3d_h36m.npz`` exists (``--data auto``),
else random DH poses seen by random H36M cameras (``--data random``). Timings on a shared machine
are noisy: each figure is one timed run after a warm-up.

    python bench/bench_dhaug.py [--iterations 10] [--batch 1024] [--width 256] [--threads 2]
                                [--device cpu] [--data auto|random|synthetic]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from function_baseline.pose_set import PoseSet  # noqa: E402
from utils.io import DataError  # noqa: E402

SYNTHETIC_FILE = ROOT / "data" / "synthetic" / "data_3d_h36m.npz"


class SplitTimer:
    """Exclusive wall time per label of nested wrapped calls (synchronising CUDA around each)."""

    def __init__(self, device: torch.device) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[list] = []
        self._cuda = device.type == "cuda"

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize()

    def wrap(self, label: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            self._sync()
            self._stack.append([label, 0.0])
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._sync()
                elapsed = time.perf_counter() - start
                _, children = self._stack.pop()
                self.totals[label] += elapsed - children
                if self._stack:
                    self._stack[-1][1] += elapsed
        return timed


def project_args(batch: int, width: int, device: str) -> argparse.Namespace:
    """The README single-frame command's flags (docs/training.md#flags), with the bench's batch
    and widths."""
    from utils.config import parse_args
    return parse_args(["--note", "posefk", "--posenet_name", "videopose", "--lr_p", "1e-4",
                       "--keypoints", "gt", "--GAN_whether_use_preAngle", "True",
                       "--batch_size", str(batch), "--data_enhancement_method", "GAN",
                       "--Gen_DenseDim", str(width), "--Dis_DenseDim_3D", str(width),
                       "--Dis_DenseDim_2D", str(width), "--device", device])


def random_data(n: int, generator: torch.Generator) -> tuple[PoseSet, torch.Tensor, torch.Tensor]:
    """n random 'normal'-mode DH poses with jittered default lengths, random roots near the
    capture centre, each seen by a random H36M training camera; 5 jittered templates."""
    from models.dh_angles import sample_normal_dh
    from models.dh_kinematics import forward_kinematics
    from models.dh_tables import DEFAULT_BONE_LENGTHS
    from utils.camera import h36m_camera_table, project_to_2d, world_to_camera
    from utils.skeleton import fk_to_template_order
    base = torch.tensor(DEFAULT_BONE_LENGTHS) * 0.75
    angles, global_rot = sample_normal_dh(n, generator, global_rot=True)
    lengths = base * (1 + 0.05 * torch.randn(n, 15, generator=generator))
    root = torch.cat([torch.rand(n, 2, generator=generator) - 0.5, torch.full((n, 1), 0.9)], -1)
    world = forward_kinematics(angles.float(), lengths, global_rot.float(), root)
    table = h36m_camera_table(("S1", "S5", "S6", "S7", "S8"))
    cam = table.reshape(-1, 16)[torch.randint(20, (n,), generator=generator)]
    pose_cam = world_to_camera(world, cam[:, 9:13], cam[:, 13:16])
    zeros = torch.zeros(n, dtype=torch.long)
    train = PoseSet(pose2d=project_to_2d(pose_cam, cam), pose3d=pose_cam, camera=cam,
                    action=zeros, subject=zeros.clone())
    templates = fk_to_template_order(base * (0.9 + 0.05 * torch.arange(5.0))[:, None])
    return train, templates, table


def synthetic_data(args: argparse.Namespace, n: int, generator: torch.Generator
                   ) -> tuple[PoseSet, torch.Tensor, torch.Tensor]:
    """n random training samples of the synthetic dataset, its templates and cameras."""
    from function_baseline.data_preparation import load_datasets
    data_args = argparse.Namespace(**vars(args))
    data_args.dataset, data_args.data_dir = "synthetic", str(ROOT / "data")
    data = load_datasets(data_args, log=lambda _msg: None)
    idx = torch.randperm(len(data.train), generator=generator)[:n]
    return data.train.index(idx), data.templates.float(), data.camera_table


def instrument(aug, timer: SplitTimer) -> None:
    """Wrap the building blocks used by ``GANAugmenter.run_epoch`` with exclusive timers."""
    from function_dhaug import gan_augmenter
    from models import gan_generator
    for name in ("real_3d_for_critic", "real_2d_for_critic", "draw_template_rows", "draw_noise",
                 "draw_scale_factors", "draw_alpha", "draw_camera"):
        setattr(gan_augmenter, name,
                timer.wrap("data (real batch, draws)", getattr(gan_augmenter, name)))
    for name in ("world_to_camera", "project_to_2d"):
        setattr(gan_augmenter, name, timer.wrap("projection", getattr(gan_augmenter, name)))
    for name in ("outputs_to_dh", "forward_kinematics"):
        setattr(gan_generator, name, timer.wrap("angles + DH FK", getattr(gan_generator, name)))
    gan_augmenter.critic_step = timer.wrap("critic steps (with GP)", gan_augmenter.critic_step)
    aug.G.raw_outputs = timer.wrap("generator MLP forward", aug.G.raw_outputs)
    aug._generator_step = timer.wrap("generator step (critic fwd, backward, Adam)",
                                     aug._generator_step)


def time_gan(args, train, templates, table, device, threads_note: str) -> float:
    from function_dhaug.gan_augmenter import GANAugmenter
    warm = GANAugmenter(args, train.index(torch.arange(2 * args.batch_size)), templates, table,
                        device, torch.Generator().manual_seed(1), progress=False)
    warm.run_epoch(0)
    aug = GANAugmenter(args, train, templates, table, device, torch.Generator().manual_seed(0),
                       progress=False)
    timer = SplitTimer(device)
    instrument(aug, timer)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    pool = aug.run_epoch(0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    total = time.perf_counter() - start
    iters = len(pool) // args.batch_size
    print(f"GAN epoch ({threads_note}): {len(pool)} fake pairs in {total:.2f} s "
          f"= {len(pool) / total:,.0f} pairs/s ({total / iters:.3f} s/iteration)")
    accounted = 0.0
    for label, seconds in sorted(timer.totals.items(), key=lambda kv: -kv[1]):
        accounted += seconds
        print(f"  {label:<46s} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    print(f"  {'other (loop, stats, pool, optimiser glue)':<46s} {total - accounted:7.2f} s  "
          f"{100 * (total - accounted) / total:5.1f} %")
    return total


def time_lifter(args, train: PoseSet, device: torch.device) -> float:
    from function_baseline.model_pos_preparation import build_lifter
    from function_baseline.train import train_epoch
    args = argparse.Namespace(**vars(args))
    args.posenet_name, args.stages = "videopose", 4
    model = build_lifter(args, torch.Generator().manual_seed(0)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr_p)
    data = train.to(device)
    train_epoch(model, opt, data.index(torch.arange(2 * args.batch_size, device=device)), args,
                torch.Generator().manual_seed(1), desc="warm-up")
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_epoch(model, opt, data, args, torch.Generator().manual_seed(0), desc="lifter")
    if device.type == "cuda":
        torch.cuda.synchronize()
    total = time.perf_counter() - start
    flip = " + mirrored step" if args.flip_pos_model_input else ""
    print(f"lifter epoch (videopose 1f, 4 stages{flip}): {len(data)} samples in {total:.2f} s "
          f"= {len(data) / total:,.0f} samples/s")
    return total


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=10,
                   help="GAN iterations (samples = iterations x batch); 10 = 2 generator steps")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--width", type=int, default=256, help="G and both critics' widths")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--data", default="auto", choices=("auto", "random", "synthetic"))
    opts = p.parse_args(argv)
    torch.set_num_threads(opts.threads)
    device = torch.device(opts.device)
    args = project_args(opts.batch, opts.width, opts.device)
    n = opts.iterations * opts.batch
    gen = torch.Generator().manual_seed(0)
    use_synthetic = opts.data == "synthetic" or (opts.data == "auto" and SYNTHETIC_FILE.is_file())
    if use_synthetic:
        train, templates, table = synthetic_data(args, n, gen)
        source = f"synthetic dataset ({SYNTHETIC_FILE.parent})"
    else:
        train, templates, table = random_data(n, gen)
        source = "random DH poses"
    n = len(train) // opts.batch * opts.batch
    train = train.index(torch.arange(n))
    print(f"data: {source}, {n} samples; device {device}, {opts.threads} threads, batch "
          f"{opts.batch}, widths G/D3/D2 {opts.width}, df {args.df}, flip "
          f"{args.flip_GAN_model_input}")
    gan = time_gan(args, train, templates, table, device, f"{opts.threads} threads")
    lifter = time_lifter(args, train, device)
    verdict = "meets" if gan <= 2 * lifter else "MISSES"
    print(f"GAN epoch / lifter epoch = {gan / lifter:.2f} ({verdict} the <= 2 target)")


if __name__ == "__main__":
    try:
        main()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
