"""Tiny synthetic training sets, templates and flags for the augmenter tests (no data files)."""
from __future__ import annotations

import argparse

import torch

from function_baseline.pose_set import PoseSet
from utils.camera import h36m_camera_table, project_to_2d, world_to_camera
from utils.skeleton import pose_from_bones

# Template-order rest directions (x = subject's right, y = forward, z = up), plausible lengths (m).
REST_DIRECTIONS = torch.tensor([
    [1, 0, 0], [0, 0, -1], [0, 0, -1], [-1, 0, 0], [0, 0, -1], [0, 0, -1], [0, 0, 1], [0, 0, 1],
    [0, 0, 1], [-1, 0, 0], [0, 0, -1], [0, 0, -1], [1, 0, 0], [0, 0, -1], [0, 0, -1]],
    dtype=torch.float64)
BASE_LENGTHS = torch.tensor([0.13, 0.45, 0.44, 0.13, 0.45, 0.44, 0.23, 0.25, 0.20, 0.15, 0.28,
                             0.25, 0.15, 0.28, 0.25], dtype=torch.float64)
SUBJECTS = ("S1", "S5")


def make_templates(count: int = 5) -> torch.Tensor:
    """(count, 15) clearly distinct template-order length rows."""
    factors = 0.85 + 0.07 * torch.arange(count, dtype=torch.float64)
    return (factors[:, None] * BASE_LENGTHS).float()


def make_world_poses(n: int, gen: torch.Generator) -> torch.Tensor:
    """(n, 16, 3) float64 world poses: jittered rest directions, jittered lengths, random yaw,
    root near the centre of the H36M capture space at hip height."""
    dirs = REST_DIRECTIONS + 0.35 * torch.randn(n, 15, 3, generator=gen, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    lengths = BASE_LENGTHS * (1 + 0.05 * torch.randn(n, 15, generator=gen, dtype=torch.float64))
    yaw = torch.rand(n, generator=gen, dtype=torch.float64) * 6.283
    c, s = torch.cos(yaw), torch.sin(yaw)
    z, o = torch.zeros_like(yaw), torch.ones_like(yaw)
    rot = torch.stack([torch.stack([c, -s, z], -1), torch.stack([s, c, z], -1),
                       torch.stack([z, z, o], -1)], -2)
    bones = (dirs * lengths[..., None]) @ rot.transpose(-1, -2)
    root = torch.cat([torch.rand(n, 2, generator=gen, dtype=torch.float64) * 1.0 - 0.5,
                      torch.full((n, 1), 0.9, dtype=torch.float64)], dim=-1)
    return pose_from_bones(bones, root)


def make_pose_set(n: int, seed: int = 0) -> PoseSet:
    """n single-frame samples seen by random cameras of S1/S5 (float32, like the loader)."""
    gen = torch.Generator().manual_seed(seed)
    world = make_world_poses(n, gen)
    table = h36m_camera_table(SUBJECTS).double()                        # (2, 4, 16)
    cam = table.reshape(-1, 16)[torch.randint(8, (n,), generator=gen)]
    pose_cam = world_to_camera(world, cam[:, 9:13], cam[:, 13:16])
    pose2d = project_to_2d(pose_cam, cam)
    zeros = torch.zeros(n, dtype=torch.long)
    return PoseSet(pose2d=pose2d.float(), pose3d=pose_cam.float(), camera=cam.float(),
                   action=zeros, subject=zeros.clone())


def make_args(**overrides) -> argparse.Namespace:
    """The original's flags (docs/training.md#flags) with tiny networks and batches."""
    values = dict(lr_g=1e-3, lr_d=1e-3, df=2, GAN_LAMBDA=10, GAN_3d_loss_weight=1.0,
                  GAN_2d_loss_weight=0.2, Gen_DenseDim=16, Dis_DenseDim_3D=16, Dis_DenseDim_2D=16,
                  GAN_OUTPUT_DIM=35, flip_GAN_model_input=True, whether_use_RT=True,
                  bone_len_scaler="different", GAN_whether_use_preAngle=True, batch_size=8,
                  generator_whole_number=6, generator_choose_BoneLen=True,
                  generator_choose_root_pos=True, generator_global_rot=True,
                  record_all_picture=False, snapshot=2, data_enhancement_method="GAN",
                  posenet_name="videopose", architecture="3,3,3")
    values.update(overrides)
    return argparse.Namespace(**values)
