"""The 3DHP-like world of the synthetic dataset: activities outside the H36M pose distribution.

Same body model and leg behaviours as the H36M-like actions (data/synthetic_motion.py), another
pose distribution: raised arms, jumping jacks, squats, crouching, lunges, strong leaning and
bending, kneeling, sitting on the floor or a chair, plus some ordinary standing and walking for
overlap. Clips are centred near the origin. See docs/data_formats.md#synthetic-dataset.
"""
from __future__ import annotations

import numpy as np

from data.synthetic_h36m_actions import ACTIONS
from data.synthetic_motion import (FPS, PoseBuilder, blend, cycle, head_and_trunk,
                                   keep_arms_outside_torso, pick_preset, preset, seated_track,
                                   standing_track, subject_style, trunk_lean_back, walking_track,
                                   wave, yaw_track)
from data.synthetic_skeleton import Body, PoseTrack, hip_offsets, pelvis_rotation

DHP_ACTIVITIES = ("stand", "walk", "arms_up", "jacks", "squat", "crouch", "lunge", "lean",
                  "bend", "kneel", "sit_floor", "sit_chair")


def dhp_clip(activity: str, body: Body, rng: np.random.Generator, n_frames: int,
             stride: int = 1) -> PoseTrack:
    """A 3DHP-like activity centred at the origin: n_frames taken every ``stride`` frames
    of a 50 Hz motion (test rows of 3DHP are subsampled video frames)."""
    if activity not in _DHP:
        raise ValueError(f"unknown 3DHP-like activity {activity!r}; expected {DHP_ACTIVITIES}")
    t = rng.uniform(0, 30) + np.arange(n_frames) * stride / FPS
    style = subject_style(rng)
    return keep_arms_outside_torso(_DHP[activity](t, body, style, rng), body)


def _dhp_place(rng):
    return rng.uniform(-0.2, 0.2, 2), rng.uniform(-180, 180)


def _arms_up(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    ups = ("overhead", "up_v", "reach_up", "t_pose", "hands_head", "jack_up")
    for side in (0, 1):
        w = cycle(t, rng, (2.0, 5.0), dwell=True)
        pose.arm(side, blend(pick_preset(rng, ("hang", "t_pose", "relaxed")),
                             pick_preset(rng, ups), w))
    pose.add("neck_flex", -rng.uniform(0, 20))
    pose.add("chest_flex", -rng.uniform(0, 10))
    head_and_trunk(pose, t, rng, turn=20.0)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 30.0),
                          width=rng.uniform(0.2, 0.6))


def _jacks(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (0.8, 1.6))
    arms = blend(preset("hang"), preset("jack_up"), w)
    pose.arms(arms, arms)
    pose.add("l_knee_out", 15 * w)
    pose.add("r_knee_out", 15 * w)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          width=0.25 + rng.uniform(0.35, 0.6) * w, extension=0.985 - 0.05 * w)


def _squat(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (1.5, 3.5), dwell=True)
    pose.add("waist_flex", rng.uniform(15, 40) * w)
    pose.add("pelvis_pitch", 15 * w)
    arm = pick_preset(rng, ("forward", "hands_head", "guard", "hip"))
    pose.arms(blend(preset("hang"), arm, w), blend(preset("hang"), arm, w))
    pose.add("l_knee_out", 15 * w)
    pose.add("r_knee_out", 15 * w)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          width=rng.uniform(0.35, 0.6), extension=0.98 - rng.uniform(0.35, 0.5) * w,
                          lean_back=trunk_lean_back(pose, body))


def _crouch(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 5.0)
    c, y = _dhp_place(rng)
    pose.add("waist_flex", rng.uniform(15, 40))
    pose.add("pelvis_pitch", rng.uniform(5, 20))
    pose.add("neck_flex", -rng.uniform(10, 35))
    for side in (0, 1):
        pose.arm(side, blend(pick_preset(rng, ("floor_touch", "knees", "forward")),
                             pick_preset(rng, ("floor_touch", "guard", "reach_down")),
                             cycle(t, rng, (2, 5))))
    pose.add("l_knee_out", 20)
    pose.add("r_knee_out", 20)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 20.0),
                          width=rng.uniform(0.3, 0.55), stagger=rng.uniform(-0.2, 0.2),
                          extension=rng.uniform(0.42, 0.58) + 0.03 * wave(t, rng, 0.1, 0.4)[:, 0],
                          lean_back=trunk_lean_back(pose, body))


def _lunge(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (2.0, 4.0), dwell=True)
    arm = pick_preset(rng, ("hip", "overhead", "t_pose", "forward"))
    pose.arms(blend(preset("relaxed"), arm, w), blend(preset("relaxed"), arm, w))
    pose.add("chest_flex", -rng.uniform(0, 10))
    sign = rng.choice((-1.0, 1.0))
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          width=rng.uniform(0.2, 0.35),
                          stagger=sign * (0.3 + rng.uniform(0.4, 0.6) * w),
                          extension=0.97 - rng.uniform(0.15, 0.3) * w)


def _lean(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (2.5, 5.0), dwell=True)
    sign = rng.choice((-1.0, 1.0))
    amount = rng.uniform(20, 30)
    pose.add("waist_lat", sign * amount * w)
    pose.add("chest_lat", sign * 0.7 * amount * w)
    pose.add("waist_flex", rng.uniform(-10, 25) * w)
    up, down = (0, 1) if sign > 0 else (1, 0)     # leaning right raises the left arm
    pose.arm(up, blend(preset("hang"), pick_preset(rng, ("overhead", "reach_up", "hands_head")), w))
    pose.arm(down, blend(preset("hang"), pick_preset(rng, ("hip", "hang", "reach_down")), w))
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          width=rng.uniform(0.45, 0.85))


def _bend(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (2.5, 5.0), dwell=True)
    pose.add("pelvis_pitch", rng.uniform(25, 40) * w)
    pose.add("waist_flex", rng.uniform(40, 65) * w)
    pose.add("chest_flex", rng.uniform(10, 30) * w)
    pose.add("waist_twist", rng.uniform(-20, 20) * w)
    pose.add("neck_flex", -20 * w)
    pose.arms(blend(preset("hang"), preset("floor_touch"), w),
              blend(preset("hang"), pick_preset(rng, ("floor_touch", "reach_down", "behind")), w))
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          width=rng.uniform(0.25, 0.6), extension=0.99 - rng.uniform(0, 0.06) * w,
                          lean_back=trunk_lean_back(pose, body))


def _kneel(t, body, style, rng):
    """One or both knees on the floor; the pelvis follows the kneeling thigh."""
    T = len(t)
    pose = PoseBuilder(T, style, rng, 4.0)
    c, yaw0 = _dhp_place(rng)
    yaw = yaw0 + 5 * wave(t, rng, 0.05, 0.2)[:, 0]
    pose.add("waist_flex", rng.uniform(-5, 30) + 8 * wave(t, rng, 0.1, 0.3)[:, 0])
    for side in (0, 1):
        pose.arm(side, blend(pick_preset(rng, ("hang", "knees", "hip")),
                             pick_preset(rng, ("forward", "overhead", "gesture_hi", "guard")),
                             cycle(t, rng, (2.0, 5.0), dwell=True)))
    head_and_trunk(pose, t, rng, turn=25.0)
    both = rng.uniform() < 0.5
    kneeler = int(rng.integers(2))
    yr = np.deg2rad(yaw)
    fwd = np.stack([np.cos(yr), np.sin(yr), np.zeros(T)], -1)
    left = np.stack([-np.sin(yr), np.cos(yr), np.zeros(T)], -1)
    up = np.array([0.0, 0.0, 1.0])
    beta = np.deg2rad(rng.uniform(-5, 25) + 5 * wave(t, rng, 0.1, 0.3)[:, 0])   # thigh lean
    knee_z, ankle_z = 0.06, 0.8 * body.ankle_height
    lat = np.array([1.0, -1.0]) * body.hip
    knee = (np.concatenate([c, [knee_z]])[None, None] + lat[None, :, None] * left[:, None])
    shin_h = np.sqrt(body.shin ** 2 - (ankle_z - knee_z) ** 2)
    ankle_kneel = knee - shin_h * fwd[:, None] + (ankle_z - knee_z) * up
    hip_from_knee = knee + body.thigh * (np.cos(beta)[:, None, None] * up
                                         - np.sin(beta)[:, None, None] * fwd[:, None])
    R = pelvis_rotation(yaw, pose.a)
    off = np.einsum("tij,kj->tki", R, hip_offsets(body))
    root_k = hip_from_knee - off                                        # (T, 2, 3)
    root = root_k.mean(1) if both else root_k[:, kneeler]
    feet = ankle_kneel.copy()
    if not both:
        other = 1 - kneeler
        hip_o = root + off[:, other]
        reach = rng.uniform(0.35, 0.5) * body.leg / 0.89
        feet[:, other] = hip_o + reach * fwd
        feet[:, other, 2] = body.ankle_height
    pose.add("l_knee_out", 5)
    pose.add("r_knee_out", 5)
    return PoseTrack(pose.a, yaw, root, feet, np.ones((T, 2), bool))


def _sit_floor(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    pose.add("pelvis_pitch", -rng.uniform(5, 20))
    pose.add("waist_flex", rng.uniform(0, 20) + 5 * wave(t, rng, 0.1, 0.3)[:, 0])
    arm = pick_preset(rng, ("behind_floor", "knees", "hang", "gesture"))
    pose.arms(arm, arm if rng.uniform() < 0.6
              else pick_preset(rng, ("knees", "gesture", "overhead")))
    head_and_trunk(pose, t, rng, turn=25.0)
    return seated_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 10.0),
                        seat=rng.uniform(0.10, 0.14), foot_fwd=rng.uniform(0.45, 0.75))


def _sit_chair(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 5.0)
    c, y = _dhp_place(rng)
    pose.add("waist_flex", rng.uniform(-15, 35))
    pose.add("waist_lat", rng.uniform(-15, 15))
    for side in (0, 1):
        pose.arm(side, blend(preset("lap"), pick_preset(rng, ("overhead", "t_pose", "hands_head",
                                                              "forward", "gesture")),
                             cycle(t, rng, (2.0, 5.0), dwell=True)))
    head_and_trunk(pose, t, rng, turn=30.0, nod=12.0)
    return seated_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 10.0))


def _dhp_stand(t, body, style, rng):
    return ACTIONS[str(rng.choice(("Waiting", "Discussion", "Directions", "Smoking")))](
        t, body, style, rng)


def _dhp_walk(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    pose.arms(preset("hang"), preset("hang"))
    head_and_trunk(pose, t, rng, turn=10.0)
    return walking_track(t, body, style, rng, pose, speed=rng.uniform(0.6, 1.4),
                         center=np.zeros(2), radius=rng.uniform(0.7, 1.0),
                         direction=rng.choice((-1, 1)))


_DHP = {
    "stand": _dhp_stand, "walk": _dhp_walk, "arms_up": _arms_up, "jacks": _jacks,
    "squat": _squat, "crouch": _crouch, "lunge": _lunge, "lean": _lean, "bend": _bend,
    "kneel": _kneel, "sit_floor": _sit_floor, "sit_chair": _sit_chair,
}
