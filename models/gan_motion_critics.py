"""WGAN motion critics of video DH-AUG: one score per sequence (docs/video.md#motion-critics).

* :class:`MotionCritic3D` scores a root-relative **world** sequence (B,T,16,3) from up to four
  branches: the 15 bone-pair cosines of every frame, their frame differences, the flattened
  positions and the frame differences of the positions. The last two can be switched off; they
  are still built (so checkpoints and parameter counts do not depend on the switches) but are
  then neither evaluated nor merged.
* :class:`MotionCritic2D` scores an absolute normalised 2D sequence (B,T,16,2) from the
  flattened poses and the root's displacement between consecutive frames.

Each branch is ``Linear + ReLU -> 3 ResBlock`` (width W); the used branches are concatenated
and merged by ``Linear(n*W, 100) + ReLU -> ResBlock(100) -> Linear(100, 1)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.blocks import ResBlock, init_linear_layers_, residual_branch
from models.gan_discriminators import COSINE_PAIRS, MERGE_DIM, bone_features, cosine_pair_index
from utils.skeleton import NUM_JOINTS

NUM_COSINES = len(COSINE_PAIRS)


def _merge_head(in_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, MERGE_DIM), nn.ReLU(), ResBlock(MERGE_DIM),
                         nn.Linear(MERGE_DIM, 1))


def _check_sequence(x: torch.Tensor, frames: int, dim: int, name: str) -> torch.Tensor:
    """(B, T, 16, dim) or (B, T, 16*dim) -> (B, T, 16, dim), or a ValueError naming the shape."""
    if x.dim() not in (3, 4) or x.shape[1] != frames or math.prod(x.shape[2:]) != NUM_JOINTS * dim:
        raise ValueError(f"{name}: expected (B, {frames}, {NUM_JOINTS}, {dim}), "
                         f"got {tuple(x.shape)}")
    return x.reshape(x.shape[0], frames, NUM_JOINTS, dim)


def frame_differences(x: torch.Tensor) -> torch.Tensor:
    """``x[:, t+1] - x[:, t]`` along the time axis 1: (B, T, ...) -> (B, T-1, ...)."""
    return x[:, 1:] - x[:, :-1]


class MotionCritic3D(nn.Module):
    """Motion critic of width W = --video_Dis_DenseDim_3D on T-frame root-relative world sequences.

    use_pos_branch: --motion_Dis_whether_use_3dPos_branch; use_diff_branch:
    --motion_Dis_whether_use_3dDiff_branch. Branch order: cosines, cosine differences,
    positions, position differences.
    """

    def __init__(self, width: int, frames: int, use_pos_branch: bool = True,
                 use_diff_branch: bool = True, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if frames < 2:
            raise ValueError(f"MotionCritic3D needs at least 2 frames, got {frames}")
        self.frames = int(frames)
        self.use_pos_branch = bool(use_pos_branch)
        self.use_diff_branch = bool(use_diff_branch)
        flat = 3 * NUM_JOINTS
        self.cosine = residual_branch(frames * NUM_COSINES, width)
        self.cosine_diff = residual_branch((frames - 1) * NUM_COSINES, width)
        self.position = residual_branch(frames * flat, width)
        self.position_diff = residual_branch((frames - 1) * flat, width)
        branches = 2 + self.use_pos_branch + self.use_diff_branch
        self.merge = _merge_head(branches * width)
        first, second = cosine_pair_index()
        self.register_buffer("pair_first", first, persistent=False)
        self.register_buffer("pair_second", second, persistent=False)
        init_linear_layers_(self, generator)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """seq (B, T, 16, 3) or (B, T, 48) root-relative world -> scores (B, 1)."""
        seq = _check_sequence(seq, self.frames, 3, "MotionCritic3D")
        b = seq.shape[0]
        cos = bone_features(seq, (self.pair_first, self.pair_second))[..., :NUM_COSINES]
        parts = [self.cosine(cos.reshape(b, -1)),
                 self.cosine_diff(frame_differences(cos).reshape(b, -1))]
        flat = seq.reshape(b, self.frames, -1)
        if self.use_pos_branch:
            parts.append(self.position(flat.reshape(b, -1)))
        if self.use_diff_branch:
            parts.append(self.position_diff(frame_differences(flat).reshape(b, -1)))
        return self.merge(torch.cat(parts, dim=-1))


class MotionCritic2D(nn.Module):
    """Motion critic of width W = --video_Dis_DenseDim_2D on T-frame normalised 2D sequences."""

    def __init__(self, width: int, frames: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if frames < 2:
            raise ValueError(f"MotionCritic2D needs at least 2 frames, got {frames}")
        self.frames = int(frames)
        self.pose = residual_branch(frames * 2 * NUM_JOINTS, width)
        self.root_motion = residual_branch((frames - 1) * 2, width)
        self.merge = _merge_head(2 * width)
        init_linear_layers_(self, generator)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """seq (B, T, 16, 2) or (B, T, 32) absolute normalised screen coords -> scores (B, 1)."""
        seq = _check_sequence(seq, self.frames, 2, "MotionCritic2D")
        b = seq.shape[0]
        root_step = frame_differences(seq[:, :, 0, :])                  # (B, T-1, 2)
        parts = [self.pose(seq.reshape(b, -1)), self.root_motion(root_step.reshape(b, -1))]
        return self.merge(torch.cat(parts, dim=-1))
