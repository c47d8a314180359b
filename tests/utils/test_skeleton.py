import torch

from utils import skeleton


def test_parents_and_sides_are_consistent():
    assert len(skeleton.JOINT_NAMES) == len(skeleton.PARENTS) == 16
    for l, r in zip(skeleton.JOINTS_LEFT, skeleton.JOINTS_RIGHT):
        assert skeleton.JOINT_NAMES[l][1:] == skeleton.JOINT_NAMES[r][1:]
        assert skeleton.JOINT_NAMES[l][0] == "L" and skeleton.JOINT_NAMES[r][0] == "R"
    # Both shoulders hang from the thorax.
    assert skeleton.PARENTS[10] == skeleton.PARENTS[13] == 8


def test_bone_orders_map_onto_each_other():
    for k, b in enumerate(skeleton.TEMPLATE_TO_FK):
        assert skeleton.FK_BONES[b] == skeleton.TEMPLATE_BONES[k]
    x = torch.arange(15.0)
    assert torch.equal(skeleton.template_to_fk_order(skeleton.fk_to_template_order(x)), x)
    assert skeleton.FK_SCALE_GROUPS[7] == -1  # thorax never scaled


def test_index_maps_pick_named_joints():
    assert skeleton.H36M32_TO_16[9] == 15 and skeleton.H36M32_TO_16[13] == 25
    assert 9 not in skeleton.H36M17_TO_16 and len(skeleton.H36M17_TO_16) == 16


def test_bone_lengths_hand_example():
    pose = torch.zeros(16, 3)
    pose[1] = torch.tensor([0.1, 0, 0])      # RHip
    pose[2] = torch.tensor([0.1, 0, -0.4])   # RKnee
    lengths = skeleton.bone_lengths(pose, "template")
    assert torch.isclose(lengths[0], torch.tensor(0.1)) and torch.isclose(lengths[1], torch.tensor(0.4))
    fk = skeleton.bone_lengths(pose, "fk")
    assert torch.isclose(fk[5], torch.tensor(0.1)) and torch.isclose(fk[3], torch.tensor(0.4))


def test_flip_is_an_involution_and_mirrors():
    pose = torch.randn(2, 5, 16, 3)
    f = skeleton.flip_pose(pose)
    assert torch.equal(skeleton.flip_pose(f), pose)
    assert torch.equal(f[..., 1, 0], -pose[..., 4, 0])      # RHip <- mirrored LHip
    assert torch.equal(f[..., 13, 1:], pose[..., 10, 1:])   # RShoulder <- LShoulder y, z
    assert torch.equal(f[..., 0, 0], -pose[..., 0, 0])
    f2 = skeleton.flip_pose(pose[..., :2])
    assert torch.equal(f2, f[..., :2])


def test_pose_from_bones_rebuilds_pose():
    pose = torch.randn(4, 16, 3, dtype=torch.float64)
    rebuilt = skeleton.pose_from_bones(skeleton.bone_vectors(pose, "template"), pose[:, 0])
    torch.testing.assert_close(rebuilt, pose)


def test_ancestor_matrix_rebuilds_pose_in_both_orders():
    pose = torch.randn(3, 16, 3, dtype=torch.float64)
    for order in ("fk", "template"):
        A = skeleton.ancestor_matrix(order, dtype=torch.float64)
        rebuilt = pose[:, :1] + A @ skeleton.bone_vectors(pose, order)
        torch.testing.assert_close(rebuilt, pose)
    # The wrist hangs from hip -> spine -> thorax -> shoulder -> elbow: five bones.
    assert skeleton.ancestor_matrix("fk")[15].sum() == 5
