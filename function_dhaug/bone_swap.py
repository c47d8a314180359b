"""Per-epoch bone-length template swap of the real training poses (docs/gan.md#bone-swap).

Every real sample keeps its root and its bone directions; its 15 bone lengths are replaced by one
row of the bone-length templates (drawn per sample each epoch). The swapped pose is what the critics
call "real": the 3D critic sees it root-relative in the world frame, the 2D critic sees its exact
distorted projection with the sample's own camera. Its FK-order lengths are the generator's lengths.
All functions are batched over any leading shape (one sample = one row).
"""
from __future__ import annotations

import torch

from utils.camera import project_to_2d, to_world_frame
from utils.skeleton import bone_vectors, pose_from_bones, root_relative, template_to_fk_order


def draw_template_rows(n: int, num_templates: int, generator: torch.Generator) -> torch.Tensor:
    """(n,) long on CPU: the template row of every sample, uniform over ``num_templates``."""
    return torch.randint(num_templates, (n,), generator=generator)


def swap_bone_lengths(pose: torch.Tensor, template_lengths: torch.Tensor) -> torch.Tensor:
    """Give ``pose`` (..., 16, 3) the template-order bone lengths (..., 15), keeping its root and
    bone directions.

    Works in any frame (camera or world): the swap commutes with rigid motions.
    """
    bones = bone_vectors(pose, "template")
    unit = bones / torch.linalg.vector_norm(bones, dim=-1, keepdim=True).clamp_min(1e-12)
    return pose_from_bones(unit * template_lengths.to(pose.dtype).unsqueeze(-1), pose[..., 0, :])


def real_3d_for_critic(pose_cam: torch.Tensor, camera16: torch.Tensor,
                       template_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Swapped real poses as the 3D critic and the generator need them.

    pose_cam (..., 16, 3) camera frame with root; camera16 (..., 16) the sample's camera;
    template_lengths (..., 15) template order. Returns (root-relative world pose (..., 16, 3),
    FK-order bone lengths (..., 15) = the template row reordered).
    """
    swapped = swap_bone_lengths(pose_cam, template_lengths)
    world = to_world_frame(swapped, camera16)
    return root_relative(world), template_to_fk_order(template_lengths.to(pose_cam.dtype))


def real_2d_for_critic(pose_cam: torch.Tensor, camera: torch.Tensor,
                       template_lengths: torch.Tensor) -> torch.Tensor:
    """Distorted normalised projection (..., 16, 2) of the swapped camera-frame pose with its own
    camera (..., 9 or 16)."""
    return project_to_2d(swap_bone_lengths(pose_cam, template_lengths), camera)
