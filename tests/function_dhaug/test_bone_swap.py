import torch

from function_dhaug.bone_swap import (draw_template_rows, real_2d_for_critic, real_3d_for_critic,
                                      swap_bone_lengths)
from utils.camera import camera_to_world, world_to_screen
from utils.skeleton import bone_lengths, bone_vectors, template_to_fk_order


def _unit(v):
    return v / v.norm(dim=-1, keepdim=True)


def test_swap_gives_template_lengths_keeps_directions_and_root(train_set, templates):
    pose = train_set.pose3d.double()
    rows = templates.double()[torch.arange(len(pose)) % len(templates)]
    out = swap_bone_lengths(pose, rows)
    torch.testing.assert_close(bone_lengths(out, "template"), rows, rtol=0, atol=1e-12)
    torch.testing.assert_close(_unit(bone_vectors(out, "template")),
                               _unit(bone_vectors(pose, "template")), rtol=0, atol=1e-12)
    torch.testing.assert_close(out[:, 0], pose[:, 0], rtol=0, atol=0)
    # the original lengths differ from the template ones, so the swap really changed the pose
    assert (out - pose).abs().max() > 1e-2


def test_swap_with_own_lengths_is_identity(train_set):
    pose = train_set.pose3d.double()
    torch.testing.assert_close(swap_bone_lengths(pose, bone_lengths(pose, "template")), pose,
                               rtol=0, atol=1e-12)


def test_real_3d_is_root_relative_world_with_fk_lengths(train_set, templates):
    pose, cam = train_set.pose3d.double(), train_set.camera.double()
    rows = templates.double()[torch.arange(len(pose)) % len(templates)]
    world_rr, lengths_fk = real_3d_for_critic(pose, cam, rows)
    torch.testing.assert_close(lengths_fk, template_to_fk_order(rows), rtol=0, atol=0)
    # the stored float32 quaternions are unit only to ~6e-8, so rotations scale lengths by that much
    torch.testing.assert_close(bone_lengths(world_rr, "fk"), lengths_fk, rtol=0, atol=1e-6)
    assert world_rr[:, 0].abs().max() == 0
    # swapping in the world frame gives the same pose: the swap commutes with the rigid motion
    world = camera_to_world(pose, cam[:, 9:13], cam[:, 13:16])
    expected = swap_bone_lengths(world, rows)
    torch.testing.assert_close(world_rr, expected - expected[:, :1], rtol=0, atol=1e-6)


def test_real_2d_is_projection_of_swapped_pose_with_own_camera(train_set, templates):
    pose, cam = train_set.pose3d.double(), train_set.camera.double()
    rows = templates.double()[torch.arange(len(pose)) % len(templates)]
    world = swap_bone_lengths(camera_to_world(pose, cam[:, 9:13], cam[:, 13:16]), rows)
    # camera -> world -> camera is the identity up to the float32 quaternion norm (~1e-7)
    torch.testing.assert_close(real_2d_for_critic(pose, cam, rows), world_to_screen(world, cam),
                               rtol=0, atol=1e-6)


def test_template_rows_uniform_in_range_and_reproducible():
    a = draw_template_rows(5000, 5, torch.Generator().manual_seed(3))
    b = draw_template_rows(5000, 5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.dtype == torch.long
    counts = torch.bincount(a, minlength=5)
    assert counts.numel() == 5 and counts.min() > 900
