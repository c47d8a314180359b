"""The synthetic motion model (data/synthetic_motion.py, synthetic_h36m_actions.py,
synthetic_dhp_world.py): per-action clips are deterministic, planted feet stay put, gaits
alternate, arms stay out of the torso, and the 3DHP-like activities do what they claim."""
from __future__ import annotations

import numpy as np
import pytest

from data import synthetic_motion as mo
from data import synthetic_skeleton as sk
from data.synthetic_dhp_world import DHP_ACTIVITIES, dhp_clip
from data.synthetic_h36m_actions import (H36M_ACTIONS, STATIC_FEET_ACTIONS, WALKING_ACTIONS,
                                         h36m_clip)

FRAMES = 60


def _clip(action: str, seed: int = 0, subject: str = "S5"):
    body = sk.subject_body(subject)
    rng = np.random.default_rng(seed)
    style = mo.subject_style(rng)
    track = h36m_clip(action, body, style, rng, FRAMES)
    return body, track, sk.forward_kinematics(track, body).joints


@pytest.mark.parametrize("action", H36M_ACTIONS)
def test_action_clip_is_plausible(action):
    body, track, j = _clip(action)
    assert j.shape == (FRAMES, 16, 3) and np.isfinite(j).all()
    # Planted feet: at floor height, and they do not slide between consecutive planted frames.
    ankles = j[:, [6, 3]]                                            # left, right
    np.testing.assert_allclose(ankles[..., 2][track.planted], body.ankle_height, atol=1e-6)
    both = track.planted[1:] & track.planted[:-1]
    step = np.linalg.norm(np.diff(ankles, axis=0), axis=-1)
    assert (step[both] < 1e-6).all()
    assert (sk.arm_torso_clearance(j) >= mo.TORSO_CLEARANCE - 1e-9).all()
    assert (track.angles >= sk.LIMITS[:, 0]).all() and (track.angles <= sk.LIMITS[:, 1]).all()
    assert (j[..., 2] > 0).all()
    if action in STATIC_FEET_ACTIONS:
        assert track.planted.all()


def test_same_generator_state_same_clip_and_seeds_differ():
    _, _, a = _clip("Discussion", seed=3)
    _, _, b = _clip("Discussion", seed=3)
    _, _, c = _clip("Discussion", seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.05


@pytest.mark.parametrize("action", WALKING_ACTIONS)
def test_walking_gait_alternates_and_moves(action):
    body, track, j = _clip(action, seed=1, subject="S9")
    frames = 200
    rng = np.random.default_rng(1)
    style = mo.subject_style(rng)
    track = h36m_clip(action, body, style, rng, frames)
    j = sk.forward_kinematics(track, body).joints
    assert track.planted.any(axis=1).all()                           # never airborne
    for side in (0, 1):
        assert (~track.planted[:, side]).any() and track.planted[:, side].any()
    swing = ~track.planted
    ankles = j[:, [6, 3], 2]
    assert ankles[swing].max() > body.ankle_height + 0.05           # the swing foot lifts
    travelled = np.linalg.norm(np.diff(j[:, 0, :2], axis=0), axis=-1).sum() / (frames / mo.FPS)
    assert 0.5 < travelled < 1.7                                     # m/s
    # Left arm forward while the right leg is ahead, on average (contralateral swing).
    fwd = np.stack([np.cos(np.radians(track.yaw)), np.sin(np.radians(track.yaw))], -1)
    leg = ((j[:, 3, :2] - j[:, 6, :2]) * fwd).sum(-1)               # right ankle ahead of left
    arm = ((j[:, 12, :2] - j[:, 15, :2]) * fwd).sum(-1)             # left wrist ahead of right
    assert np.corrcoef(leg, arm)[0, 1] > 0.3


def test_unknown_names_raise():
    body = sk.subject_body("S1")
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown action"):
        h36m_clip("Dancing", body, mo.subject_style(rng), rng, 4)
    with pytest.raises(ValueError, match="unknown 3DHP-like activity"):
        dhp_clip("swimming", body, rng, 4)


def _dhp(activity, seed=0, frames=40):
    body = sk.random_body(np.random.default_rng(100 + seed))
    track = dhp_clip(activity, body, np.random.default_rng(seed), frames, stride=5)
    return body, track, sk.forward_kinematics(track, body).joints


@pytest.mark.parametrize("activity", DHP_ACTIVITIES)
def test_dhp_activities_keep_bones_and_clearance(activity):
    body, track, j = _dhp(activity)
    lengths = np.linalg.norm(j[:, 1:] - j[:, list(sk.skeleton.PARENTS[1:])], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(body.bones, lengths.shape), atol=1e-9)
    assert (sk.arm_torso_clearance(j) >= mo.TORSO_CLEARANCE - 1e-9).all()
    assert (j[..., 2] > -1e-9).all()


def test_dhp_activities_reach_poses_outside_h36m():
    _, _, kneel = _dhp("kneel")
    assert kneel[:, [2, 5], 2].min(1).max() < 0.1                   # a knee on the floor
    _, _, sit = _dhp("sit_floor")
    assert sit[:, 0, 2].max() < 0.2                                 # pelvis near the floor
    for seed in range(3):
        _, _, crouch = _dhp("crouch", seed)
        assert crouch[:, 0, 2].max() < 0.6
    raised = [(_dhp("arms_up", s)[2][:, [12, 15], 2].max() - _dhp("arms_up", s)[2][:, 9, 2].max())
              for s in range(4)]
    assert max(raised) > 0.1                                        # a wrist above the head


def test_keep_arms_outside_torso_repairs_a_collision():
    body = sk.subject_body("S1")
    a = np.zeros((3, sk.NUM_ANGLES))
    a[:, sk.A["l_sh_abd"]] = -30
    a[:, sk.A["l_sh_rot"]] = 90
    a[:, sk.A["l_elbow"]] = 120
    a[:, sk.A["l_sh_flex"]] = -10
    feet = np.tile([[0.0, 0.12, 0.09], [0.0, -0.12, 0.09]], (3, 1, 1))
    track = sk.PoseTrack(a.copy(), np.zeros(3), np.tile([0, 0, 0.95], (3, 1)), feet,
                         np.ones((3, 2), bool))
    before = sk.arm_torso_clearance(sk.forward_kinematics(track, body).joints)
    assert (before[:, 0] < mo.TORSO_CLEARANCE).all()
    fixed = mo.keep_arms_outside_torso(track, body)
    after = sk.arm_torso_clearance(sk.forward_kinematics(fixed, body).joints)
    assert (after >= mo.TORSO_CLEARANCE).all()
    np.testing.assert_array_equal(fixed.angles[:, sk.ARM_COLUMNS[1]], a[:, sk.ARM_COLUMNS[1]])
