"""Pieces shared by the GAN and the 'normal' augmenters: input checks, the fake pool, logging,
and the generator call whose random draws are those of the whole global batch on every rank
(docs/distributed.md#randomness)."""
from __future__ import annotations

import argparse
from typing import Any

import torch

from function_baseline.pose_set import PoseSet
from function_dhaug.sampling import draw_noise, draw_scale_factors
from models.bone_scaling import scale_bone_lengths
from models.gan_generator import GeneratedPoses
from utils.distributed import DistContext, check_batch_size
from utils.io import DataError
from utils.skeleton import NUM_BONES, NUM_JOINTS

def check_augmenter_inputs(args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                           camera_table: torch.Tensor) -> None:
    """Raise :class:`DataError` for data the augmenters cannot use (flags were checked at parse
    time)."""
    if len(train) == 0:
        raise DataError("the training set is empty; check --actions, --s1only/--s1s5only and "
                        "--downsample")
    if tuple(train.pose3d.shape[1:]) != (NUM_JOINTS, 3) or train.camera.shape[-1] != 16:
        raise DataError(f"augmenters need training poses (N,{NUM_JOINTS},3) with 16-value cameras, "
                        f"got pose3d {tuple(train.pose3d.shape)} "
                        f"camera {tuple(train.camera.shape)}")
    if templates.dim() != 2 or templates.shape[1] != NUM_BONES or templates.shape[0] < 1:
        raise DataError(f"bone-length templates must be (T, {NUM_BONES}) metres, "
                        f"got {tuple(templates.shape)}")
    if camera_table.dim() != 3 or camera_table.shape[-1] != 16 or camera_table.shape[0] < 1:
        raise DataError(f"camera table must be (S, 4, 16) for the training subjects, "
                        f"got {tuple(camera_table.shape)}")


class AugmenterBase:
    """What both augmenters hold: the checked training poses (camera frame, root kept) and their
    16-value cameras on ``device``, the owned CPU generator, the flags, and ``ctx`` (this
    process's place in a distributed run; None = one process). Several ranks need a
    --batch_size that splits evenly over them."""

    def __init__(self, args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                 camera_table: torch.Tensor, device: torch.device, generator: torch.Generator,
                 progress: bool = True, ctx: DistContext | None = None) -> None:
        check_augmenter_inputs(args, train, templates, camera_table)
        self.ctx = ctx or DistContext()
        if self.ctx.distributed:
            check_batch_size(args.batch_size, self.ctx.world_size)
        self.args = args
        self.device = torch.device(device)
        self.generator = generator
        self.progress = progress
        self.dtype = train.pose3d.dtype
        self.pose3d = train.pose3d.to(self.device)
        self.camera = train.camera.to(self.device, self.dtype)


def fake_pose_set(pose2d: torch.Tensor, pose3d: torch.Tensor, camera: torch.Tensor) -> PoseSet:
    """Fake pairs as a PoseSet: pose2d (M,16,2) normalised, pose3d (M,16,3) absolute camera frame,
    camera (M,16); action and subject indices are zeros (no names)."""
    zeros = torch.zeros(pose2d.shape[0], dtype=torch.long, device=pose2d.device)
    return PoseSet(pose2d=pose2d, pose3d=pose3d, camera=camera, action=zeros, subject=zeros.clone())


def empty_fake_pose_set(device: torch.device, dtype: torch.dtype) -> PoseSet:
    """A PoseSet with no rows (shapes as :func:`fake_pose_set`)."""
    return fake_pose_set(torch.zeros(0, NUM_JOINTS, 2, device=device, dtype=dtype),
                         torch.zeros(0, NUM_JOINTS, 3, device=device, dtype=dtype),
                         torch.zeros(0, 16, device=device, dtype=dtype))


def generate(net: torch.nn.Module, lengths_fk: torch.Tensor, scaler: str,
             rng: torch.Generator, device: torch.device, dtype: torch.dtype,
             ctx: DistContext | None = None) -> GeneratedPoses:
    """A pose generator ``net`` (with ``noise_dim``) on fresh noise and FK-order lengths
    (B, 15) scaled by fresh --bone_len_scaler factors, drawn from ``rng`` in that order.

    ctx: ``lengths_fk`` are this rank's rows of an evenly split global batch; the noise and
    factors of the whole global batch are drawn and this rank's rows kept (None: a plain batch).
    """
    ctx = ctx or DistContext()
    b = lengths_fk.shape[0]
    z = ctx.draw_global(lambda n: draw_noise(n, net.noise_dim, rng, device, dtype), b)
    factors = ctx.draw_global(lambda n: draw_scale_factors(n, scaler, rng, device, dtype), b)
    return net(z, scale_bone_lengths(lengths_fk, factors))


def average_log(ctx: DistContext, log: list[tuple[int, torch.Tensor]]
                ) -> list[tuple[int, torch.Tensor]]:
    """Per-iteration statistics [(global iteration, tensor)] averaged over the ranks in one
    collective (unchanged for one rank). Each rank's values are means over its equal share of
    the global batch, so their average is the global batch's. Every rank must call it."""
    if not ctx.distributed or not log:
        return log
    values = ctx.average(torch.stack([v for _, v in log]))
    return [(it, v) for (it, _), v in zip(log, values)]


def write_scalars(writer: Any, scalars: dict[str, float], step: int) -> None:
    """``writer.add_scalar`` for every item (no-op without a writer)."""
    if writer is None:
        return
    for tag, value in scalars.items():
        writer.add_scalar(tag, value, step)

