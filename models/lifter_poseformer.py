"""PoseFormer lifter (Zheng et al., ICCV 2021) for 16 joints, as configured by DH-AUG.

Spatial transformer per frame: each joint's (x, y) -> Linear(2 -> 32) + learnable joint embedding,
4 blocks of width 32, LayerNorm, joints flattened to 16*32 = 512 per frame.  Temporal transformer:
+ learnable frame embedding, 4 blocks of width 512, LayerNorm, a learned weighted mean over frames
(Conv1d(f -> 1, k=1)), then LayerNorm -> Linear(512 -> 48) for the centre frame's 16 joints.
Blocks: pre-norm, 8 heads, qkv bias, MLP ratio 2, GELU; drop-path rises linearly from 0 to
``drop_path_rate`` over the 4 blocks of each transformer.
"""
from __future__ import annotations

import torch
from torch import nn

from models.dropout import Dropout
from models.lifter_common import single_frame_input, window_input
from models.transformer_blocks import TransformerBlock
from utils.skeleton import NUM_JOINTS


class PoseFormerLifter(nn.Module):
    """(N, f, J, 2) normalised 2D windows -> (N, 1, J, 3) metres for the centre frame."""

    def __init__(self, num_frames: int, num_joints: int = NUM_JOINTS, joint_dim: int = 32,
                 depth: int = 4, heads: int = 8, mlp_ratio: float = 2.0,
                 drop_path_rate: float = 0.1, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.num_joints = num_joints
        frame_dim = joint_dim * num_joints
        rates = torch.linspace(0.0, drop_path_rate, depth).tolist()
        self.joint_embed = nn.Linear(2, joint_dim)
        self.spatial_pos_embed = nn.Parameter(torch.zeros(1, num_joints, joint_dim))
        self.spatial_blocks = nn.ModuleList(
            TransformerBlock(joint_dim, heads, mlp_ratio, True, r, dropout) for r in rates)
        self.spatial_norm = nn.LayerNorm(joint_dim, eps=1e-6)
        self.temporal_pos_embed = nn.Parameter(torch.zeros(1, num_frames, frame_dim))
        self.temporal_blocks = nn.ModuleList(
            TransformerBlock(frame_dim, heads, mlp_ratio, True, r, dropout) for r in rates)
        self.temporal_norm = nn.LayerNorm(frame_dim, eps=1e-6)
        self.weighted_mean = nn.Conv1d(num_frames, 1, kernel_size=1)
        self.head = nn.Sequential(nn.LayerNorm(frame_dim), nn.Linear(frame_dim, 3 * num_joints))
        self.pos_drop = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = window_input(x, self.num_joints, self.num_frames)
        n, f, j, _ = x.shape
        h = self.pos_drop(self.joint_embed(x.reshape(n * f, j, 2)) + self.spatial_pos_embed)
        for block in self.spatial_blocks:
            h = block(h)
        h = self.spatial_norm(h).reshape(n, f, -1)
        h = self.pos_drop(h + self.temporal_pos_embed)
        for block in self.temporal_blocks:
            h = block(h)
        h = self.weighted_mean(self.temporal_norm(h))
        return self.head(h).reshape(n, 1, j, 3)


class SingleFramePoseFormerLifter(PoseFormerLifter):
    """PoseFormer with one frame: (B, 2J) or (B, J, 2) -> (B, J, 3) (root predicted too)."""

    def __init__(self, num_joints: int = NUM_JOINTS, drop_path_rate: float = 0.1, **kwargs) -> None:
        super().__init__(1, num_joints=num_joints, drop_path_rate=drop_path_rate, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = single_frame_input(x, self.num_joints)
        return super().forward(x.unsqueeze(1))[:, 0]
