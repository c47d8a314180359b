"""data.synthetic_skeleton: rotations, two-bone IK, forward kinematics, 32-joint fill."""
from __future__ import annotations

import numpy as np
import pytest

from data import synthetic_skeleton as sk
from utils import skeleton


def _track(angles: np.ndarray, yaw=0.0, root=(0.0, 0.0, 0.95), feet=None) -> sk.PoseTrack:
    T = len(angles)
    if feet is None:
        feet = np.tile([[0.0, 0.12, 0.09], [0.0, -0.12, 0.09]], (T, 1, 1))
    return sk.PoseTrack(angles, np.full(T, float(yaw)), np.tile(root, (T, 1)), feet,
                        np.ones((T, 2), bool))


def test_rotations_are_proper_and_turn_the_right_way():
    a = np.random.default_rng(0).uniform(-3, 3, 50)
    for R in (sk.rot_x(a), sk.rot_y(a), sk.rot_z(a)):
        np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape),
                                   atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(R), 1.0)
    q = np.pi / 2
    np.testing.assert_allclose(sk.rot_z(np.array(q)) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    up = [0, 0, 1]
    np.testing.assert_allclose(sk.rot_y(np.array(q)) @ up, [1, 0, 0], atol=1e-12)   # -> forward
    np.testing.assert_allclose(sk.rot_x(np.array(q)) @ up, [0, -1, 0], atol=1e-12)  # -> right


def test_two_bone_ik_reaches_and_keeps_lengths():
    rng = np.random.default_rng(1)
    hip = rng.normal(0, 1, (200, 3))
    direction = rng.normal(0, 1, (200, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    dist = rng.uniform(0.1, 1.2, (200, 1))           # part of them out of reach (0.85)
    target = hip + dist * direction
    hint = rng.normal(0, 1, (200, 3))
    knee, ankle = sk.two_bone_ik(hip, target, hint, 0.45, 0.40)
    np.testing.assert_allclose(np.linalg.norm(knee - hip, axis=-1), 0.45, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(ankle - knee, axis=-1), 0.40, atol=1e-9)
    reach = dist[:, 0] < 0.85
    np.testing.assert_allclose(ankle[reach], target[reach], atol=1e-9)
    # Out of reach: the leg is straight and points at the target.
    out = ~reach
    np.testing.assert_allclose(ankle[out], hip[out] + 0.85 * direction[out], atol=1e-6)
    # The knee bends towards the hint.
    line = target - hip
    bulge = (knee - hip) - ((knee - hip) * line).sum(-1, keepdims=True) / (line * line).sum(
        -1, keepdims=True) * line
    assert ((bulge * hint).sum(-1)[reach] >= -1e-9).all()


def test_two_bone_ik_hand_example():
    knee, ankle = sk.two_bone_ik(np.array([0.0, 0, 1]), np.array([0.0, 0, 0.2]),
                                 np.array([1.0, 0, 0]), 0.5, 0.5)
    # hip-ankle 0.8 apart -> knee 0.3 ahead of the midpoint (3-4-5 triangle).
    np.testing.assert_allclose(knee, [0.3, 0, 0.6], atol=1e-12)
    np.testing.assert_allclose(ankle, [0, 0, 0.2], atol=1e-12)


def test_rest_pose_hand_computed():
    body = sk.subject_body("S1")
    j = sk.forward_kinematics(_track(np.zeros((1, sk.NUM_ANGLES))), body).joints[0]
    root = np.array([0, 0, 0.95])
    np.testing.assert_allclose(j[0], root)
    np.testing.assert_allclose(j[1], root + [0, -0.1329, 0])          # right hip on -y
    np.testing.assert_allclose(j[4], root + [0, 0.1329, 0])
    np.testing.assert_allclose(j[7], root + [0, 0, 0.2335])
    np.testing.assert_allclose(j[8], root + [0, 0, 0.2335 + 0.2571])
    tilt = np.radians(8)
    np.testing.assert_allclose(j[9], j[8] + 0.1819 * np.array([np.sin(tilt), 0, np.cos(tilt)]))
    # Arms hang straight down from the shoulders at angle 0.
    np.testing.assert_allclose(j[11] - j[10], [0, 0, -0.2789], atol=1e-12)
    np.testing.assert_allclose(j[12] - j[11], [0, 0, -0.2517], atol=1e-12)
    # Left/right mirror images of each other about the sagittal plane.
    mirror = j[list(skeleton.FLIP_PERMUTATION)] * [1, -1, 1]
    np.testing.assert_allclose(mirror[:9], j[:9], atol=1e-12)
    np.testing.assert_allclose(mirror[10:], j[10:], atol=1e-12)


@pytest.mark.parametrize("subject", ["S1", "S6", "S9", "S11"])
def test_bone_lengths_constant_under_any_angles(subject):
    rng = np.random.default_rng(2)
    body = sk.subject_body(subject)
    angles = rng.uniform(sk.LIMITS[:, 0], sk.LIMITS[:, 1], (64, sk.NUM_ANGLES))
    feet = np.tile([[0.1, 0.15, 0.09], [-0.1, -0.15, 0.09]], (64, 1, 1))
    j = sk.forward_kinematics(_track(angles, yaw=33, feet=feet), body).joints
    lengths = np.linalg.norm(j[:, [c for _, c in skeleton.TEMPLATE_BONES]]
                             - j[:, [p for p, _ in skeleton.TEMPLATE_BONES]], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(body.bones, lengths.shape), atol=1e-12)


def test_joint_angle_conventions():
    body = sk.subject_body("S5")
    a = np.zeros((3, sk.NUM_ANGLES))
    a[0, sk.A["l_sh_flex"]] = 90          # left arm forward
    a[1, sk.A["r_sh_abd"]] = 90           # right arm out to the right
    a[2, sk.A["waist_flex"]] = 30         # bend forward
    j = sk.forward_kinematics(_track(a), body).joints
    np.testing.assert_allclose(j[0, 11] - j[0, 10], [body.upper_arm, 0, 0], atol=1e-12)
    np.testing.assert_allclose(j[1, 14] - j[1, 13], [0, -body.upper_arm, 0], atol=1e-12)
    spine = j[2, 7] - j[2, 0]
    np.testing.assert_allclose(spine, body.waist * np.array([0.5, 0, np.sqrt(3) / 2]), atol=1e-12)
    # Angles beyond the limits are clipped: elbow 200 deg behaves as 150 deg.
    b = np.zeros((2, sk.NUM_ANGLES))
    b[0, sk.A["l_elbow"]], b[1, sk.A["l_elbow"]] = 200, 150
    jb = sk.forward_kinematics(_track(b), body).joints
    np.testing.assert_allclose(jb[0], jb[1])


def test_fill_h36m32_places_named_joints_and_duplicates():
    body = sk.subject_body("S7")
    k = sk.forward_kinematics(_track(np.zeros((2, sk.NUM_ANGLES)), yaw=90), body)
    p32 = sk.fill_h36m32(k, body)
    np.testing.assert_array_equal(p32[:, list(skeleton.H36M32_TO_16)], k.joints)
    for dup, src in ((11, 0), (16, 13), (24, 13), (20, 19), (22, 19), (28, 27), (30, 27)):
        np.testing.assert_array_equal(p32[:, dup], p32[:, src])
    # Toes lie ahead of the ankles (facing +y at yaw 90) and near the floor.
    assert (p32[:, [4, 9], 1] > p32[:, [3, 8], 1] + 0.1).all()
    assert (p32[:, [4, 5, 9, 10], 2] < 0.05).all() and (p32[..., 2] >= 0).all()


def test_subject_bodies():
    for s in ("S1", "S5", "S6", "S7", "S8", "S9", "S11"):
        body = sk.subject_body(s)
        b = body.bones
        np.testing.assert_array_equal(b[[0, 1, 2, 9, 10, 11]], b[[3, 4, 5, 12, 13, 14]])
        assert 0.07 < body.ankle_height < 0.11
    other = sk.random_body(np.random.default_rng(0))
    assert other.bones.shape == (15,) and (other.bones > 0.1).all()
    assert not np.allclose(other.bones, sk.subject_body("S1").bones)


def test_arm_torso_clearance_detects_an_arm_through_the_body():
    body = sk.subject_body("S1")
    a = np.zeros((2, sk.NUM_ANGLES))
    a[1, sk.A["l_sh_abd"]] = -30
    a[1, sk.A["l_sh_rot"]] = 90
    a[1, sk.A["l_elbow"]] = 120            # forearm swung into the belly
    a[1, sk.A["l_sh_flex"]] = -10
    j = sk.forward_kinematics(_track(a), body).joints
    c = sk.arm_torso_clearance(j)
    assert c[0, 0] > 0.14 and c[0, 1] > 0.14        # hanging arms: about the shoulder width
    assert c[1, 0] < 0.1 and c[1, 1] == pytest.approx(c[0, 1])
