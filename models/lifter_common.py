"""Input/output shape helpers shared by every 2D -> 3D lifter.

Single-frame lifters accept a flat (B, 2J) vector or a (B, J, 2) pose; multi-frame lifters
accept (N, F, J, 2) windows.  Shape mistakes are programming errors, so they raise
``ValueError`` with the expected and the received shape.
"""
from __future__ import annotations

import torch

from utils.skeleton import NUM_JOINTS


def single_frame_input(x: torch.Tensor, num_joints: int = NUM_JOINTS) -> torch.Tensor:
    """(B, 2J) or (B, J, 2) normalised 2D -> (B, J, 2) (a view when possible)."""
    if x.dim() == 2 and x.shape[1] == 2 * num_joints:
        return x.reshape(x.shape[0], num_joints, 2)
    if x.dim() == 3 and tuple(x.shape[1:]) == (num_joints, 2):
        return x
    raise ValueError(
        f"single-frame lifter input must be (B, {2 * num_joints}) or (B, {num_joints}, 2), "
        f"got {tuple(x.shape)}")


def window_input(x: torch.Tensor, num_joints: int = NUM_JOINTS,
                 frames: int | None = None) -> torch.Tensor:
    """Check a (N, F, J, 2) window batch; ``frames`` fixes F when the model needs it."""
    ok = x.dim() == 4 and tuple(x.shape[2:]) == (num_joints, 2)
    if ok and frames is not None:
        ok = x.shape[1] == frames
    if not ok:
        f = "F" if frames is None else str(frames)
        raise ValueError(f"multi-frame lifter input must be (N, {f}, {num_joints}, 2), "
                         f"got {tuple(x.shape)}")
    return x


def pad_root(joints: torch.Tensor) -> torch.Tensor:
    """(..., J-1, 3) predictions of the non-root joints -> (..., J, 3) with a zero root (joint 0)."""
    root = joints.new_zeros(joints.shape[:-2] + (1, joints.shape[-1]))
    return torch.cat([root, joints], dim=-2)
