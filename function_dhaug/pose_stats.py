"""Per-epoch statistics of generated poses, accumulated on the device and read back once.

Tracks bone lengths, joint angles and the global rotation (mean and standard deviation per value),
the root position, and the joints that land behind the camera (Z <= 0) or outside the projection's
clamp (|X/Z| > 1 or |Y/Z| > 1, docs/cameras.md#projection).
"""
from __future__ import annotations

import torch

from models.dh_tables import DOF_TABLE, GLOBAL_GAN_RANGE, GLOBAL_NORMAL_RANGE
from utils.distributed import DistContext
from utils.skeleton import FK_BONE_NAMES, bone_lengths

# Names of the 33 DH joint angles (chain and link) and the 3 global rotation axes.
DOF_NAMES = tuple(f"{row.chain}{row.link}" for row in DOF_TABLE)
GLOBAL_ROT_NAMES = ("global_x", "global_y", "global_z")


def gan_dof_ranges(use_pre_angle: bool = True) -> torch.Tensor:
    """(36, 2) degrees: range of each GAN angle (33 links, then global x, y, z). Without
    --GAN_whether_use_preAngle every free DOF spans (-180, 180); fixed ones stay (0, 0)."""
    rows = [row.gan_range if use_pre_angle or not row.free else (-180, 180) for row in DOF_TABLE]
    return torch.tensor(rows + list(GLOBAL_GAN_RANGE), dtype=torch.float64)


def normal_dof_ranges() -> torch.Tensor:
    """(36, 2) degrees: range of each 'normal'-mode angle (33 links, then global x, y, z)."""
    rows = [row.normal_range for row in DOF_TABLE]
    return torch.tensor(rows + list(GLOBAL_NORMAL_RANGE), dtype=torch.float64)


def camera_visibility_counts(pose_cam: torch.Tensor) -> torch.Tensor:
    """(2,) long: joints with Z <= 0, and joints whose X/Z or Y/Z leaves [-1, 1] (or Z <= 0)."""
    z = pose_cam[..., 2]
    behind = z <= 0
    ratio = pose_cam[..., :2] / z.unsqueeze(-1)
    clamped = behind | (ratio.abs() > 1).any(-1)
    return torch.stack([behind.sum(), clamped.sum()])


class PoseStatistics:
    """Running sums over one epoch; :meth:`scalars` syncs once and returns name -> float."""

    def __init__(self) -> None:
        self.count = 0
        self.joints = 0
        self._sums: torch.Tensor | None = None      # (2, 15 + 33 + 3 + 3): sum and sum of squares
        self._vis: torch.Tensor | None = None        # (2,) long

    def update(self, world: torch.Tensor, angles: torch.Tensor, global_rot: torch.Tensor,
               pose_cam: torch.Tensor | None = None) -> None:
        """world (B,16,3) with root, angles (B,33), global_rot (B,3) degrees, pose_cam (B,16,3)."""
        values = torch.cat([bone_lengths(world, "fk"), angles, global_rot, world[:, 0, :]], dim=-1)
        values = values.detach().to(torch.float64)
        sums = torch.stack([values.sum(0), (values * values).sum(0)])
        self._sums = sums if self._sums is None else self._sums + sums
        self.count += world.shape[0]
        if pose_cam is not None:
            vis = camera_visibility_counts(pose_cam.detach())
            self._vis = vis if self._vis is None else self._vis + vis
            self.joints += pose_cam.shape[0] * pose_cam.shape[1]

    def merge_ranks(self, ctx: DistContext) -> None:
        """Replace this rank's sums and counts by those of every rank (one all-reduce; a no-op
        at world size 1), so :meth:`scalars` describes the whole global batches. Every rank must
        call it, after the same number of updates."""
        if not ctx.distributed or self._sums is None:
            return
        vis = self._vis if self._vis is not None else self._sums.new_zeros(2)
        counts = self._sums.new_tensor([self.count, self.joints])
        total = ctx.all_sum(torch.cat([self._sums.flatten(), vis.to(self._sums), counts]))
        self._sums = total[:self._sums.numel()].view_as(self._sums)
        if self._vis is not None:
            self._vis = total[-4:-2].round().long()
        self.count, self.joints = (int(v) for v in total[-2:].round().tolist())

    def scalars(self, prefix: str) -> dict[str, float]:
        """Tag -> value: mean/std of every bone length, angle and global-rotation axis, root mean,
        and fake-joint counts behind the camera / clamped. Empty before any update."""
        if self._sums is None or self.count == 0:
            return {}
        sums = self._sums.cpu()
        mean = sums[0] / self.count
        std = (sums[1] / self.count - mean * mean).clamp_min(0).sqrt()
        names = ([f"bone_length/{n.replace(' ', '_').replace('/', '_')}" for n in FK_BONE_NAMES]
                 + [f"angle/{n}" for n in DOF_NAMES] + [f"angle/{n}" for n in GLOBAL_ROT_NAMES]
                 + ["root/x", "root/y", "root/z"])
        out = {}
        for k, name in enumerate(names):
            out[f"{prefix}/{name}_mean"] = float(mean[k])
            if not name.startswith("root"):
                out[f"{prefix}/{name}_std"] = float(std[k])
        if self._vis is not None:
            vis = self._vis.cpu()
            out[f"{prefix}/fake_joints_behind_camera"] = float(vis[0])
            out[f"{prefix}/fake_joints_clamped"] = float(vis[1])
            out[f"{prefix}/fake_joints_total"] = float(self.joints)
        return out
