"""H36M-like actions of the synthetic dataset: one generator per Human3.6M action category.

Each action builds a posture from arm presets and trunk angles, modulates it with smooth
periodic terms (gestures, weight shifts, head turns) and hands it to one leg behaviour of
data/synthetic_motion.py: planted feet (standing), a gait around a loop (walking) or a chair
(seated). Subject style varies per subject; phases, headings, places and amplitudes per take.
See docs/data_formats.md#synthetic-dataset.
"""
from __future__ import annotations

import numpy as np

from data.synthetic_motion import (FPS, PoseBuilder, Style, blend, cycle, head_and_trunk,
                                   keep_arms_outside_torso, pelvis_height, pick_preset,
                                   pick_side, preset, seated_track, smoothstep, standing_track,
                                   trunk_lean_back, walking_track, wave, yaw_track)
from data.synthetic_skeleton import A, Body, PoseTrack

H36M_ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
                "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog",
                "Walking", "WalkTogether")
# Actions whose feet never leave the floor (standing or seated in every take).
STATIC_FEET_ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Photo", "Posing",
                       "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting")
WALKING_ACTIONS = ("WalkDog", "Walking", "WalkTogether")


def _place(rng, r_max=0.8):
    """Random standing place in the capture area and a heading (deg)."""
    r = r_max * np.sqrt(rng.uniform())
    a = rng.uniform(0, 2 * np.pi)
    return np.array([r * np.cos(a), r * np.sin(a)]), rng.uniform(-180, 180)

def h36m_clip(action: str, body: Body, style: Style, rng: np.random.Generator,
              n_frames: int) -> PoseTrack:
    """One take of an H36M-like action: n_frames at 50 Hz starting at a random time."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {H36M_ACTIONS}")
    t = rng.uniform(0, 30) + np.arange(n_frames) / FPS
    return keep_arms_outside_torso(ACTIONS[action](t, body, style, rng), body)


def _directions(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    s, o = pick_side(rng)
    w = cycle(t * style.tempo, rng, (2.5, 5.0), dwell=True)
    pose.arm(s, blend(preset("hang"),
                      pick_preset(rng, ("point_fwd", "point_side", "gesture_hi")), w))
    pose.arm(o, blend(preset("hang"), preset("relaxed"), cycle(t, rng, (3, 6))))
    head_and_trunk(pose, t, rng, turn=30.0, tempo=style.tempo)
    pose.add("chest_twist", (10.0 if s == 1 else -10.0) * w)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 15.0))


def _discussion(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    for side in (0, 1):
        w = cycle(t * style.tempo, rng, (1.2, 3.0))
        pose.arm(side, blend(preset("relaxed"),
                             pick_preset(rng, ("gesture", "gesture_hi", "hip")), w))
    head_and_trunk(pose, t, rng, turn=35.0, nod=10.0, tempo=style.tempo)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 20.0),
                          stagger=rng.uniform(-0.15, 0.15), sway=0.04)


def _eating(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng, 0.6)
    s, o = pick_side(rng)
    w = cycle(t * style.tempo, rng, (2.5, 4.5), dwell=True)
    pose.arm(s, blend(preset("table"), preset("mouth"), w))
    pose.arm(o, blend(preset("table"), preset("lap"), cycle(t, rng, (4, 8))))
    pose.add("waist_flex", rng.uniform(8, 22) + 6 * w)
    pose.add("neck_flex", rng.uniform(5, 20))
    head_and_trunk(pose, t, rng, turn=12.0)
    return seated_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 5.0))


def _greeting(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    s, o = pick_side(rng)
    w = cycle(t * style.tempo, rng, (2.0, 4.0), dwell=True)
    kind = rng.integers(3)
    if kind == 0:    # wave with an oscillating elbow
        arm = blend(preset("hang"), preset("wave"), w)
        arm[:, 4] += 20 * w * np.sin(2 * np.pi * 2.5 * t)
        pose.arm(s, arm)
    elif kind == 1:  # handshake
        pose.arm(s, blend(preset("hang"), preset("handshake"), w))
    else:            # bow
        pose.add("waist_flex", 25 * w)
        pose.add("neck_flex", 15 * w)
        pose.arm(s, blend(preset("hang"), preset("relaxed"), w))
    pose.arm(o, preset("hang"))
    head_and_trunk(pose, t, rng, turn=15.0)
    pose_track = standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                                lean_back=trunk_lean_back(pose, body))
    return pose_track


def _phoning(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    s, o = pick_side(rng)
    pose.arm(s, preset("phone") + rng.normal(0, 4, 5) * [0, 1, 1, 1, 0.5])
    pose.add("neck_lat", (-1 if s == 0 else 1) * rng.uniform(4, 14))
    pose.arm(o, blend(preset("hang"), pick_preset(rng, ("hip", "gesture", "relaxed")),
                      cycle(t, rng, (3, 6))))
    head_and_trunk(pose, t, rng, turn=20.0)
    if rng.uniform() < 0.5:
        return walking_track(t, body, style, rng, pose, speed=rng.uniform(0.5, 0.8),
                             center=rng.uniform(-0.3, 0.3, 2), radius=rng.uniform(0.9, 1.4),
                             direction=rng.choice((-1, 1)), swing=0.4 * style.arm_swing)
    c, y = _place(rng)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 20.0), sway=0.04)


def _photo(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    w = cycle(t * style.tempo, rng, (3.0, 6.0), dwell=True)
    pose.arms(blend(preset("relaxed"), preset("camera"), w),
              blend(preset("relaxed"), preset("camera"), w))
    pose.add("neck_flex", -5 * w)
    crouch = rng.uniform(0.0, 0.08) * cycle(t, rng, (4, 8))
    pose.add("waist_flex", 10 * crouch / 0.08)
    head_and_trunk(pose, t, rng, turn=10.0, nod=4.0)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 25.0),
                          extension=style.extension - crouch, stagger=rng.uniform(-0.2, 0.2),
                          lean_back=trunk_lean_back(pose, body))


def _posing(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _place(rng)
    pairs = (("hip", "hip"), ("cross", "cross"), ("hip", "point_side"), ("hang", "gesture_hi"),
             ("behind", "behind"), ("hip", "hang"))
    p, q = pairs[rng.integers(len(pairs))]
    w = cycle(t, rng, (4.0, 8.0), dwell=True)
    left, right = (preset(p), preset(q)) if rng.uniform() < 0.5 else (preset(q), preset(p))
    pose.arms(blend(preset("relaxed"), left, w), blend(preset("relaxed"), right, w))
    pose.add("waist_lat", rng.uniform(-8, 8) * w)
    pose.add("neck_lat", rng.uniform(-10, 10) * w)
    pose.add("pelvis_roll", rng.uniform(-5, 5))
    head_and_trunk(pose, t, rng, turn=20.0)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          width=style.stance_width + rng.uniform(0, 0.12),
                          stagger=rng.uniform(-0.25, 0.25))


def _purchases(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    w = cycle(t * style.tempo, rng, (3.0, 6.0), dwell=True)
    depth = rng.uniform(20, 45)
    pose.add("waist_flex", depth * w)
    pose.add("chest_flex", 0.3 * depth * w)
    pose.add("neck_flex", 10 * w)
    s, o = pick_side(rng)
    pose.arm(s, blend(preset("carry"), preset("reach_down"), w))
    pose.arm(o, blend(preset("carry"), pick_preset(rng, ("reach_down", "relaxed", "hip")), w))
    head_and_trunk(pose, t, rng, turn=15.0)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y),
                          extension=style.extension - rng.uniform(0.0, 0.05) * w,
                          lean_back=trunk_lean_back(pose, body))


def _sitting(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 4.0)
    c, y = _place(rng, 0.6)
    lean = rng.uniform(-12, 25) + 8 * wave(t, rng, 0.05, 0.2)[:, 0]
    pose.add("waist_flex", lean)
    pose.add("waist_lat", rng.uniform(-8, 8))
    choices = ("lap", "table", "relaxed", "mouth", "cross", "gesture")
    w = cycle(t * style.tempo, rng, (3.0, 7.0), dwell=True)
    pose.arms(blend(preset("lap"), pick_preset(rng, choices), w),
              blend(preset("lap"), pick_preset(rng, choices),
                    cycle(t, rng, (3.0, 7.0), dwell=True)))
    head_and_trunk(pose, t, rng, turn=30.0, nod=10.0)
    return seated_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 5.0))


def _sitting_down(t, body, style, rng):
    """Stand -> sit (or back) with the trunk bending forward mid-way; random clip phase."""
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng, 0.6)
    dur = rng.uniform(1.2, 2.0)
    start = t[0] + rng.uniform(-dur, len(t) / FPS)
    w = smoothstep((t - start) / dur)                 # 0 standing .. 1 seated
    if rng.uniform() < 0.5:
        w = 1 - w
    mid = np.sin(np.pi * w)
    pose.add("waist_flex", 35 * mid + 8 * w)
    pose.add("chest_flex", 8 * mid)
    pose.arms(blend(preset("hang"), preset("handshake"), mid),
              blend(preset("hang"), preset("handshake"), mid))
    head_and_trunk(pose, t, rng, turn=10.0)
    seat_h = body.ankle_height + rng.uniform(0.85, 1.0) * body.shin
    seated = seated_track(t, body, style, rng, pose, c, y + np.zeros(len(t)), seat=seat_h)
    # Standing pelvis: above the same feet, moved forward over them.
    stand_xy = seated.feet[:, :, :2].mean(1)
    stand_z = pelvis_height(stand_xy, seated.yaw, seated.angles, seated.feet,
                            seated.planted, style.extension, body)
    seated.root[:, :2] = stand_xy + (seated.root[:, :2] - stand_xy) * w[:, None]
    seated.root[:, 2] = stand_z + (seat_h - stand_z) * w
    seated.angles[:, A["pelvis_pitch"]] += 8.0 * (1 - w)   # undo the seated pelvis tilt
    return seated


def _smoking(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    s, o = pick_side(rng)
    w = cycle(t * style.tempo, rng, (3.0, 6.0), dwell=True)
    pose.arm(s, blend(pick_preset(rng, ("hang", "relaxed", "cross")), preset("mouth"), w))
    pose.arm(o, pick_preset(rng, ("cross", "hang", "hip", "behind")))
    pose.add("neck_flex", -4 * w)
    head_and_trunk(pose, t, rng, turn=25.0)
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y), sway=0.03)


def _waiting(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    c, y = _place(rng)
    p = pick_preset(rng, ("behind", "cross", "hang", "relaxed", "hip"))
    q = p if rng.uniform() < 0.6 else pick_preset(rng, ("hang", "relaxed", "hip"))
    pose.arms(p, q)
    head_and_trunk(pose, t, rng, turn=40.0, nod=8.0, tempo=0.6)
    pose.add("pelvis_roll", 4 * wave(t, rng, 0.05, 0.15)[:, 0])
    return standing_track(t, body, style, rng, pose, c, yaw_track(t, rng, y, 15.0), sway=0.05,
                          stagger=rng.uniform(-0.15, 0.15))


def _walk_common(t, body, style, rng, pose, speed, **kw):
    return walking_track(t, body, style, rng, pose, speed=speed, center=rng.uniform(-0.3, 0.3, 2),
                         radius=rng.uniform(1.0, 1.5), direction=rng.choice((-1, 1)), **kw)


def _walk_dog(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    s, o = pick_side(rng)
    pose.arm(s, preset("leash") + 5 * wave(t, rng, 0.5, 1.5, 5) * [0, 1, 1, 0, 1])
    pose.arm(o, preset("hang"))
    pose.add("waist_flex", rng.uniform(5, 15))
    pose.add("neck_flex", rng.uniform(10, 25))
    head_and_trunk(pose, t, rng, turn=15.0)
    return _walk_common(t, body, style, rng, pose, rng.uniform(0.7, 1.0),
                        swing=0.5 * style.arm_swing)


def _walking_action(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 2.0)
    pose.arms(preset("hang"), preset("hang"))
    head_and_trunk(pose, t, rng, turn=8.0, nod=4.0, twist=2.0)
    return _walk_common(t, body, style, rng, pose, rng.uniform(1.1, 1.45))


def _walk_together(t, body, style, rng):
    pose = PoseBuilder(len(t), style, rng, 3.0)
    s, o = pick_side(rng)
    pose.arm(s, preset("partner") if rng.uniform() < 0.3 else preset("hang"))
    pose.arm(o, preset("hang"))
    pose.add("neck_turn", (1 if s == 0 else -1) * rng.uniform(10, 35))
    head_and_trunk(pose, t, rng, turn=10.0)
    return _walk_common(t, body, style, rng, pose, rng.uniform(0.8, 1.15),
                        swing=0.6 * style.arm_swing)


ACTIONS = {
    "Directions": _directions, "Discussion": _discussion, "Eating": _eating,
    "Greeting": _greeting, "Phoning": _phoning, "Photo": _photo, "Posing": _posing,
    "Purchases": _purchases, "Sitting": _sitting, "SittingDown": _sitting_down,
    "Smoking": _smoking, "Waiting": _waiting, "WalkDog": _walk_dog, "Walking": _walking_action,
    "WalkTogether": _walk_together,
}

