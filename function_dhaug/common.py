"""Pieces shared by the GAN and the 'normal' augmenters: input checks, the fake pool, logging."""
from __future__ import annotations

import argparse
from typing import Any

import torch

from function_baseline.pose_set import PoseSet
from utils.io import DataError
from utils.skeleton import NUM_BONES, NUM_JOINTS

BONE_SCALER_MODES = ("different", "same", "")


def check_augmenter_inputs(args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                           camera_table: torch.Tensor) -> None:
    """Raise :class:`DataError` for inputs the augmenters cannot use."""
    if args.bone_len_scaler not in BONE_SCALER_MODES:
        raise DataError(f"--bone_len_scaler must be one of 'different', 'same' or '' (empty), "
                        f"got {args.bone_len_scaler!r}")
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
    if args.batch_size < 1:
        raise DataError(f"--batch_size must be positive, got {args.batch_size}")


class AugmenterBase:
    """What both augmenters hold: the checked training poses (camera frame, root kept) and their
    16-value cameras on ``device``, the owned CPU generator, and the flags."""

    def __init__(self, args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                 camera_table: torch.Tensor, device: torch.device, generator: torch.Generator,
                 progress: bool = True) -> None:
        check_augmenter_inputs(args, train, templates, camera_table)
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


def write_scalars(writer: Any, scalars: dict[str, float], step: int) -> None:
    """``writer.add_scalar`` for every item (no-op without a writer)."""
    if writer is None:
        return
    for tag, value in scalars.items():
        writer.add_scalar(tag, value, step)

