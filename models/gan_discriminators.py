"""WGAN critics of single-frame DH-AUG (docs/gan.md#critics).

* :class:`Critic3D` scores a root-relative **world** pose (B,16,3) from two branches: the flattened
  positions, and 30 kinematic features (15 cosines between adjacent FK-order bones, then the 15
  FK-order bone lengths); the branch outputs are concatenated and merged to one score.
* :class:`Critic2D` scores an absolute normalised 2D pose (B,16,2) with a small residual MLP.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models.blocks import ResBlock, init_linear_layers_, residual_branch
from utils.skeleton import NUM_BONES, NUM_JOINTS, bone_vectors

# Pairs of FK-order bones whose cosine is a feature (shin-thigh, thigh-hip, hip-hip, hip-waist,
# waist-thorax, thorax-head, thorax-shoulders, shoulder-upper arm, upper arm-forearm).
COSINE_PAIRS = ((0, 2), (1, 3), (2, 4), (3, 5), (4, 5), (4, 6), (5, 6), (6, 7), (7, 14), (7, 8),
                (7, 9), (8, 10), (9, 11), (10, 12), (11, 13))
NUM_FEATURES = len(COSINE_PAIRS) + NUM_BONES
MERGE_DIM = 100


def cosine_pair_index(device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first and second FK bone of every cosine pair as two (15,) long tensors."""
    first = torch.as_tensor([a for a, _ in COSINE_PAIRS], dtype=torch.long, device=device)
    second = torch.as_tensor([b for _, b in COSINE_PAIRS], dtype=torch.long, device=device)
    return first, second


def bone_features(pose: torch.Tensor,
                  pairs: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Cosines of the 15 bone pairs then the 15 FK-order lengths: (..., 16, 3) -> (..., 30).

    ``pairs`` = :func:`cosine_pair_index` on the pose's device (built here when omitted; the
    critic keeps it as a buffer so the hot path makes no host->device copy). The original divides
    by |a|.|b| with no epsilon; the product is floored at 1e-12 only so that a degenerate
    (zero-length) bone cannot turn the gradient penalty into NaN.
    """
    first, second = pairs if pairs is not None else cosine_pair_index(pose.device)
    bones = bone_vectors(pose, "fk")                                  # (..., 15, 3)
    lengths = torch.linalg.vector_norm(bones, dim=-1)                 # (..., 15)
    dots = (bones.index_select(-2, first) * bones.index_select(-2, second)).sum(-1)
    norms = lengths.index_select(-1, first) * lengths.index_select(-1, second)
    return torch.cat([dots / norms.clamp_min(1e-12), lengths], dim=-1)


class Critic3D(nn.Module):
    """3D critic of width W3 = --Dis_DenseDim_3D on root-relative world poses (B,16,3) or (B,48)."""

    def __init__(self, width: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.position = residual_branch(3 * NUM_JOINTS, width)
        self.feature = residual_branch(NUM_FEATURES, width)
        self.merge = nn.Sequential(nn.Linear(2 * width, MERGE_DIM), nn.ReLU(),
                                   ResBlock(MERGE_DIM), nn.Linear(MERGE_DIM, 1))
        first, second = cosine_pair_index()
        self.register_buffer("pair_first", first, persistent=False)
        self.register_buffer("pair_second", second, persistent=False)
        init_linear_layers_(self, generator)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        pose = pose.reshape(pose.shape[0], NUM_JOINTS, 3)
        h_feat = self.feature(bone_features(pose, (self.pair_first, self.pair_second)))
        h_pos = self.position(pose.flatten(1))
        return self.merge(torch.cat([h_feat, h_pos], dim=-1))


class Critic2D(nn.Module):
    """2D critic, width W2 = --Dis_DenseDim_2D. Input (B,16,2) or (B,32) normalised screen coords.

    ``d1 = lrelu(L1 x); d2 = lrelu(L2 d1); d3 = lrelu(L3 d2 + d1); d4 = L4 d3;
    out = Lpred(lrelu(Llast d4))`` with LeakyReLU slope 0.01.
    """

    def __init__(self, width: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.l1 = nn.Linear(2 * NUM_JOINTS, width)
        self.l2 = nn.Linear(width, width)
        self.l3 = nn.Linear(width, width)
        self.l4 = nn.Linear(width, width)
        self.last = nn.Linear(width, width)
        self.pred = nn.Linear(width, 1)
        init_linear_layers_(self, generator)

    def forward(self, pose2d: torch.Tensor) -> torch.Tensor:
        x = pose2d.reshape(pose2d.shape[0], 2 * NUM_JOINTS)
        d1 = F.leaky_relu(self.l1(x))
        d2 = F.leaky_relu(self.l2(d1))
        d3 = F.leaky_relu(self.l3(d2) + d1)
        d4 = self.l4(d3)
        return self.pred(F.leaky_relu(self.last(d4)))
