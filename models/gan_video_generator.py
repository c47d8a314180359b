"""Video DH-AUG generator: one noise vector -> T frames of DH angles, rotation, root -> FK poses.

The trunk is the single-frame generator's (docs/gan.md#generator); only the last layer widens
to ``Linear(W, T*35)``, so all T frames are emitted at once as absolute values (no recurrence).
Every frame goes through the same angle mapping and forward kinematics with the *same* bone
lengths, so a fake sequence has exactly constant bone lengths while the joint angles, the
global rotation and the root move freely per frame (docs/video.md#video-generator).
"""
from __future__ import annotations

import torch
from torch import nn

from models.blocks import init_linear_layers_
from models.dh_angles import outputs_to_dh
from models.dh_kinematics import forward_kinematics
from models.gan_generator import NOISE_DIM, OUTPUT_DIM, GeneratedPoses, PoseGenerator


class VideoPoseGenerator(PoseGenerator):
    """The single-frame generator with a ``Linear(W, frames*35)`` output layer.

    width: --Gen_DenseDim; frames: T, the window length; use_pre_angle / use_rt as
    :class:`PoseGenerator`. ``generator`` seeds the initial weights.
    """

    def __init__(self, width: int, frames: int, use_pre_angle: bool = True, use_rt: bool = True,
                 noise_dim: int = NOISE_DIM, generator: torch.Generator | None = None) -> None:
        if frames < 1:
            raise ValueError(f"VideoPoseGenerator: frames must be >= 1, got {frames}")
        super().__init__(width, use_pre_angle=use_pre_angle, use_rt=use_rt, noise_dim=noise_dim,
                         generator=generator)
        self.frames = int(frames)
        self.out = init_linear_layers_(nn.Linear(width, self.frames * OUTPUT_DIM), generator)

    def forward(self, z: torch.Tensor, bone_lengths_fk: torch.Tensor) -> GeneratedPoses:
        """Noise (B, noise_dim) and FK-order bone lengths (B, 15) m, one row per sequence ->
        :class:`GeneratedPoses` with a time axis: world (B,T,16,3), angles (B,T,33),
        global_rot (B,T,3), root (B,T,3)."""
        if bone_lengths_fk.dim() != 2 or bone_lengths_fk.shape[0] != z.shape[0]:
            raise ValueError(f"VideoPoseGenerator: bone lengths must be (B, 15) with B = "
                             f"{z.shape[0]}, got {tuple(bone_lengths_fk.shape)}")
        raw = self.raw_outputs(z).view(z.shape[0], self.frames, OUTPUT_DIM)
        angles, global_rot, root, _ = outputs_to_dh(raw, use_pre_angle=self.use_pre_angle,
                                                    use_rt=self.use_rt)
        lengths = bone_lengths_fk.to(angles.dtype).unsqueeze(1)       # (B, 1, 15): same every frame
        world = forward_kinematics(angles, lengths, global_rot, root)
        return GeneratedPoses(world, angles, global_rot, root)
