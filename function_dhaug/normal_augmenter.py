"""'normal' augmentation: random DH angles, real bone lengths and roots, no learning
(docs/dh_model.md#normal-sampling).

Each epoch draws --generator_whole_number poses (sample 0 = rest pose), builds them with the DH
forward kinematics and projects every pose into every training camera (all training subjects x 4
slots), giving ``n x S x 4`` fake pairs. Everything is one batched computation.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from function_baseline.pose_set import PoseSet
from function_dhaug.common import AugmenterBase, fake_pose_set, write_scalars
from function_dhaug.gan_quality import GanQuality
from function_dhaug.pose_stats import (DOF_NAMES, GLOBAL_ROT_NAMES, PoseStatistics,
                                      gan_dof_ranges, normal_dof_ranges)
from function_dhaug.sampling import draw_scale_factors
from models.bone_scaling import scale_bone_lengths
from models.dh_angles import sample_normal_dh
from models.dh_kinematics import forward_kinematics
from utils.camera import project_to_2d, to_camera_frame, to_world_frame
from utils.skeleton import bone_lengths, root_relative

EPOCH_TAG = "normal_epoch"
PICTURE_SAMPLES = 4
HISTOGRAM_SAMPLES = 4096


class NormalAugmenter(AugmenterBase):
    """Same constructor / run_epoch / state_dict API as :class:`GANAugmenter`.

    Bone lengths are the FK-order lengths of random real frames (--generator_choose_BoneLen; else
    one set drawn at construction), roots the world Hip of other random frames
    (--generator_choose_root_pos; else one drawn at construction), then scaled per
    --bone_len_scaler. ``templates`` is accepted for API symmetry: the bone swap only feeds critics,
    which this mode does not have, so it is skipped.
    """

    def __init__(self, args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                 camera_table: torch.Tensor, device: torch.device, generator: torch.Generator,
                 progress: bool = True) -> None:
        super().__init__(args, train, templates, camera_table, device, generator, progress)
        self.cameras = camera_table.to(self.device, self.dtype).reshape(-1, 16)   # (S*4, 16)
        self.fixed_lengths = self._real_lengths(1)[0]
        self.fixed_root = self._real_roots(1)[0]
        self._last: dict[str, torch.Tensor] = {}
        # Same figures as the GAN's, against the same bone-swapped real poses (own RNG).
        ranges = {"angles_saturated": gan_dof_ranges(args.GAN_whether_use_preAngle),
                  "angles_saturated_own_ranges": normal_dof_ranges()}
        self.quality = GanQuality(self.pose3d, self.camera, templates.to(self.device, self.dtype),
                                  generator.initial_seed(), ranges)
        self.last_quality: dict[str, float] = {}

    def _random_frames(self, n: int) -> torch.Tensor:
        return torch.randint(len(self.pose3d), (n,), generator=self.generator).to(self.device)

    def _real_lengths(self, n: int) -> torch.Tensor:
        """(n, 15) FK-order bone lengths of random real frames (rotation invariant: camera frame
        lengths equal raw world lengths)."""
        return bone_lengths(self.pose3d[self._random_frames(n)], "fk")

    def _real_roots(self, n: int) -> torch.Tensor:
        """(n, 3) world Hip positions of random real frames."""
        idx = self._random_frames(n)
        cam = self.camera[idx]
        world = to_world_frame(self.pose3d[idx][:, :1], cam)
        return world[:, 0]

    def sample_world_poses(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """n random world poses (n,16,3) with their angles (n,33) and global rotation (n,3)."""
        args = self.args
        angles, global_rot = sample_normal_dh(n, self.generator,
                                              global_rot=args.generator_global_rot,
                                              dtype=self.dtype, device=self.device)
        lengths = (self._real_lengths(n) if args.generator_choose_BoneLen
                   else self.fixed_lengths.expand(n, -1))
        root = (self._real_roots(n) if args.generator_choose_root_pos
                else self.fixed_root.expand(n, -1))
        factors = draw_scale_factors(n, args.bone_len_scaler, self.generator, self.device,
                                     self.dtype)
        world = forward_kinematics(angles, scale_bone_lengths(lengths, factors), global_rot, root)
        return world, angles, global_rot

    def run_epoch(self, epoch: int, writer: Any = None, image_dir: Path | None = None) -> PoseSet:
        """--generator_whole_number poses x every training camera -> fake pool (sample-major:
        row = pose * (S*4) + camera). ``image_dir`` is unused (see :meth:`write_pictures`)."""
        with torch.no_grad():
            world, angles, global_rot = self.sample_world_poses(self.args.generator_whole_number)
            n = world.shape[0]
            cams = self.cameras.unsqueeze(0)                                   # (1, C, 16)
            pose_cam = to_camera_frame(world.unsqueeze(1), cams)
            pose2d = project_to_2d(pose_cam, cams)                             # (n, C, 16, 2)
        stats = PoseStatistics()
        stats.update(world, angles, global_rot, pose_cam.flatten(0, 1))
        write_scalars(writer, stats.scalars(EPOCH_TAG), epoch)
        k = min(HISTOGRAM_SAMPLES, n)
        self._last = {"world": world[:k], "angles": angles[:k], "global_rot": global_rot[:k],
                      "pose2d": pose2d[:k, 0]}
        pool = fake_pose_set(pose2d.flatten(0, 1), pose_cam.flatten(0, 1),
                             cams.expand(n, -1, -1).flatten(0, 1))
        self.last_quality = self.quality.measure(epoch, pool, torch.cat([angles, global_rot], -1))
        write_scalars(writer, GanQuality.scalars(self.last_quality), epoch)
        return pool

    def write_pictures(self, epoch: int, image_dir: Path, writer: Any = None) -> list[Path]:
        """Skeletons of the last epoch's samples (and their first camera view) beside real ones,
        and per-DOF histograms of the last epoch's angles. Nothing before the first epoch."""
        from function_dhaug.visualise import angle_histogram_figure, pose_grid_figure, write_figure
        if not self._last:
            return []
        k = min(PICTURE_SAMPLES, self._last["world"].shape[0])
        idx = torch.arange(k, device=self.device) * max(len(self.pose3d) // k, 1)
        real_cam = self.pose3d[idx]
        cam = self.camera[idx]
        real_world = to_world_frame(real_cam, cam)
        image_dir = Path(image_dir)
        grid = pose_grid_figure(root_relative(self._last["world"][:k]), self._last["pose2d"][:k],
                                root_relative(real_world), project_to_2d(real_cam, cam))
        hist = angle_histogram_figure(
            torch.cat([self._last["angles"], self._last["global_rot"]], dim=-1),
            DOF_NAMES + GLOBAL_ROT_NAMES, normal_dof_ranges())
        return [write_figure(grid, image_dir / f"normal_poses_epoch{epoch:03d}.png", writer,
                             "DHAUG/poses", epoch),
                write_figure(hist, image_dir / f"normal_angles_epoch{epoch:03d}.png", writer,
                             "DHAUG/angle_histograms", epoch)]

    def state_dict(self) -> dict:
        """The owned generator's RNG state and the start-up lengths/root (no learned state)."""
        return {"rng_state": self.generator.get_state(),
                "fixed_lengths": self.fixed_lengths.cpu(), "fixed_root": self.fixed_root.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["rng_state"])
        self.fixed_lengths = state["fixed_lengths"].to(self.device, self.dtype)
        self.fixed_root = state["fixed_root"].to(self.device, self.dtype)
