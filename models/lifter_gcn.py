"""SemGCN lifter (Zhao et al., CVPR 2019) without non-local blocks, as used by PoseAug/DH-AUG.

SemGraphConv(2 -> H) + BN + act, ``stages`` residual blocks of two [SemGraphConv(H -> H) + BN +
act], then SemGraphConv(H -> 3).  All J joints (root included) are predicted.
"act" is ReLU -> Dropout -> ReLU when a dropout rate is given, else ReLU (the original's order).
Parameter names follow PoseAug's ``SemGCN`` so its released checkpoints load unchanged.
Inside, features stay node-major, (J, B, C): graph convolutions are plain GEMMs and batch norm
runs on contiguous (J * B, C) rows (the same statistics as over (B, C, J)).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from models.dropout import ReLUDropout
from models.lifter_common import single_frame_input
from models.sem_graph_conv import SemGraphConv, adjacency_from_parents
from utils.skeleton import PARENTS


class GraphConvBlock(nn.Module):
    """SemGraphConv -> BatchNorm over channels -> activation, node-major (J, M, in) -> (J, M, out).

    ReLU -> Dropout -> ReLU equals ReLU -> Dropout (dropout keeps signs), so the last ReLU is
    applied only without dropout; outputs and gradients are unchanged. With dropout, ReLU and
    dropout are one step (``ReLUDropout``, models/dropout.py).
    """

    def __init__(self, adjacency: torch.Tensor, in_features: int, out_features: int,
                 dropout: float | None) -> None:
        super().__init__()
        self.gconv = SemGraphConv(in_features, out_features, adjacency)
        self.bn = nn.BatchNorm1d(out_features)
        self.dropout = ReLUDropout(dropout) if dropout is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.gconv.forward_nodes(x)
        z = self.bn(h.reshape(-1, h.shape[-1]))
        z = self.dropout(z) if self.dropout is not None else torch.relu_(z)  # BN keeps no output
        return z.reshape(h.shape)


class ResidualGraphBlock(nn.Module):
    """x + block2(block1(x)) with two GraphConvBlocks of equal width, (J, M, W) -> (J, M, W)."""

    def __init__(self, adjacency: torch.Tensor, width: int, dropout: float | None) -> None:
        super().__init__()
        self.gconv1 = GraphConvBlock(adjacency, width, width, dropout)
        self.gconv2 = GraphConvBlock(adjacency, width, width, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gconv2(self.gconv1(x))


class SemGCNLifter(nn.Module):
    """(B, 2J) or (B, J, 2) normalised 2D -> (B, J, 3) metres (root predicted too)."""

    def __init__(self, parents: Sequence[int] = PARENTS, hidden: int = 128, stages: int = 4,
                 dropout: float | None = 0.25) -> None:
        super().__init__()
        adjacency = adjacency_from_parents(parents)
        self.num_joints = len(parents)
        self.gconv_input = nn.Sequential(GraphConvBlock(adjacency, 2, hidden, dropout))
        self.gconv_layers = nn.Sequential(*(ResidualGraphBlock(adjacency, hidden, dropout)
                                            for _ in range(stages)))
        self.gconv_output = SemGraphConv(hidden, 3, adjacency)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = single_frame_input(x, self.num_joints).transpose(0, 1)    # node-major (J, B, 2)
        h = self.gconv_output.forward_nodes(self.gconv_layers(self.gconv_input(x)))
        return h.transpose(0, 1).contiguous()
