import pytest
import torch

from function_dhaug.pose_stats import (DOF_NAMES, PoseStatistics, camera_visibility_counts,
                                       gan_dof_ranges, normal_dof_ranges)
from utils.skeleton import bone_lengths


def test_visibility_counts_by_hand():
    pose = torch.tensor([[[0.0, 0.0, 5.0],     # visible
                          [6.0, 0.0, 5.0],     # X/Z = 1.2 -> clamped
                          [0.0, -6.0, 5.0],    # Y/Z = -1.2 -> clamped
                          [0.0, 0.0, -1.0],    # behind -> behind and clamped
                          [0.0, 0.0, 0.0]]])   # Z = 0 -> behind and clamped
    assert camera_visibility_counts(pose).tolist() == [2, 4]


def test_statistics_over_two_updates_match_torch():
    gen = torch.Generator().manual_seed(0)
    worlds = [torch.randn(5, 16, 3, generator=gen), torch.randn(3, 16, 3, generator=gen)]
    angles = [torch.randn(5, 33, generator=gen) * 30, torch.randn(3, 33, generator=gen) * 30]
    rots = [torch.randn(5, 3, generator=gen), torch.randn(3, 3, generator=gen)]
    cams = [w + torch.tensor([0.0, 0.0, 1.0]) for w in worlds]
    stats = PoseStatistics()
    for w, a, r, c in zip(worlds, angles, rots, cams):
        stats.update(w, a, r, c)
    out = stats.scalars("tag")
    all_a = torch.cat(angles).double()
    name = f"tag/angle/{DOF_NAMES[4]}"
    assert out[f"{name}_mean"] == pytest.approx(all_a[:, 4].mean().item(), abs=1e-9)
    assert out[f"{name}_std"] == pytest.approx(
        all_a[:, 4].std(unbiased=False).item(), abs=1e-9)
    lengths = bone_lengths(torch.cat(worlds).double(), "fk")
    shin = lengths[:, 1].mean().item()
    assert out["tag/bone_length/right_shin_mean"] == pytest.approx(shin, abs=1e-6)
    root_z = torch.cat(worlds)[:, 0, 2].mean().item()
    assert out["tag/root/z_mean"] == pytest.approx(root_z, abs=1e-6)
    c = torch.cat(cams)
    assert out["tag/fake_joints_behind_camera"] == float((c[..., 2] <= 0).sum())
    assert out["tag/fake_joints_total"] == 8 * 16


def test_empty_statistics_give_no_scalars():
    assert PoseStatistics().scalars("x") == {}


def test_range_tables():
    gan = gan_dof_ranges(True)
    assert gan.shape == (36, 2) and (gan[:, 0] <= gan[:, 1]).all()
    assert gan[0].tolist() == [-110, 65] and gan[-1].tolist() == [-180, 180]
    free = gan_dof_ranges(False)
    fixed = (gan == 0).all(-1)
    assert (free[fixed] == 0).all() and (free[~fixed] == torch.tensor([-180.0, 180.0])).all()
    normal = normal_dof_ranges()
    assert normal[-3].tolist() == [-20, 20] and normal[0].tolist() == [-90, 45]
