"""Single-frame DH-AUG generator: noise -> 35 numbers -> DH angles, rotation, root -> FK pose.

``z (B,128) -> Linear(128,W)+ReLU -> 3 x ResBlock(W) -> Linear(W,35)`` (docs/gan.md#generator);
the 35 outputs become 33 joint angles, a global rotation and a root (intended arm mapping,
docs/dh_model.md#angle-layout), sent through the DH forward kinematics with the bone lengths
given by the caller (not trainable).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from models.blocks import ResBlock, init_linear_layers_
from models.dh_angles import outputs_to_dh
from models.dh_kinematics import forward_kinematics

NOISE_DIM = 128
OUTPUT_DIM = 35


class GeneratedPoses(NamedTuple):
    """One generator forward. world (B,16,3) metres, z up, root included; angles (B,33) deg;
    global_rot (B,3) deg (zeros without --whether_use_RT); root (B,3) metres, world."""
    world: torch.Tensor
    angles: torch.Tensor
    global_rot: torch.Tensor
    root: torch.Tensor


class PoseGenerator(nn.Module):
    """The DH-AUG generator network plus the fixed angle mapping and forward kinematics.

    width: --Gen_DenseDim; use_pre_angle: --GAN_whether_use_preAngle (range-table scaling vs x180);
    use_rt: --whether_use_RT (global rotation on/off). ``generator`` seeds the initial weights.
    """

    def __init__(self, width: int, use_pre_angle: bool = True, use_rt: bool = True,
                 noise_dim: int = NOISE_DIM, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.use_pre_angle = use_pre_angle
        self.use_rt = use_rt
        self.inp = nn.Linear(noise_dim, width)
        self.blocks = nn.Sequential(ResBlock(width), ResBlock(width), ResBlock(width))
        self.out = nn.Linear(width, OUTPUT_DIM)
        init_linear_layers_(self, generator)

    def raw_outputs(self, z: torch.Tensor) -> torch.Tensor:
        """Noise (B, noise_dim) -> the 35 unbounded outputs (B, 35)."""
        return self.out(self.blocks(torch.relu(self.inp(z))))

    def forward(self, z: torch.Tensor, bone_lengths_fk: torch.Tensor) -> GeneratedPoses:
        """Noise (B, noise_dim) and FK-order bone lengths (B, 15) m -> :class:`GeneratedPoses`."""
        angles, global_rot, root, _ = outputs_to_dh(
            self.raw_outputs(z), use_pre_angle=self.use_pre_angle, use_rt=self.use_rt)
        world = forward_kinematics(angles, bone_lengths_fk.to(angles.dtype), global_rot, root)
        return GeneratedPoses(world, angles, global_rot, root)
