"""SimpleBaseline lifter (Martinez et al., ICCV 2017) in the PoseAug/DH-AUG variant.

Linear(2J -> W) -> BN -> ReLU -> Dropout, then ``stages`` residual blocks of two
Linear -> BN -> ReLU -> Dropout layers, then Linear(W -> 3(J-1)).  Only the J-1 non-root joints
are predicted; the root is zero-padded so the output is (B, J, 3) metres.
Parameter names follow PoseAug's ``LinearModel`` so its released checkpoints load unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from models.blocks import ResidualLinearBlock
from models.dropout import ReLUDropout
from models.lifter_common import pad_root, single_frame_input
from utils.skeleton import NUM_JOINTS


class MLPLifter(nn.Module):
    """SimpleBaseline: (B, 2J) or (B, J, 2) normalised 2D -> (B, J, 3), root fixed at zero."""

    def __init__(self, num_joints: int = NUM_JOINTS, width: int = 1024, stages: int = 4,
                 dropout: float = 0.25) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.w1 = nn.Linear(2 * num_joints, width)
        self.batch_norm1 = nn.BatchNorm1d(width)
        self.linear_stages = nn.ModuleList(ResidualLinearBlock(width, dropout) for _ in range(stages))
        self.w2 = nn.Linear(width, 3 * (num_joints - 1))
        self.dropout = ReLUDropout(dropout)          # ReLU then dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = single_frame_input(x, self.num_joints).reshape(x.shape[0], 2 * self.num_joints)
        y = self.dropout(self.batch_norm1(self.w1(x)))
        for block in self.linear_stages:
            y = block(y)
        y = self.w2(y).reshape(x.shape[0], self.num_joints - 1, 3)
        return pad_root(y)
