"""Parametric human-motion model of the synthetic dataset (50 Hz joint-angle trajectories).

Each H36M action category has its own generator: a posture built from arm presets and trunk
angles, modulated by smooth periodic terms (gestures, weight shifts, head turns), with leg
behaviour of one of three kinds: planted feet (standing), a gait around a loop (walking), or a
chair (seated). Subject style (posture offsets, stance width, step length, arm swing, tempo)
varies per subject; phases, headings, places and amplitudes vary per take.

The 3DHP-like world (:func:`dhp_clip`) uses the same body model with another pose
distribution: raised arms, crouching, lunges, strong leaning and bending, kneeling, sitting on
the floor, wide stances, plus some ordinary standing and walking for overlap.

All randomness comes from the ``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.synthetic_skeleton import (A, ARM_COLUMNS, LIMITS, NUM_ANGLES, Body, PoseTrack,
                                     arm_torso_clearance, forward_kinematics, hip_offsets,
                                     pelvis_rotation)

FPS = 50
# Arms are kept this far (m) from the torso axis: no limb passes through the body.
TORSO_CLEARANCE = 0.10
H36M_ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
                "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog",
                "Walking", "WalkTogether")
# Actions whose feet never leave the floor (standing or seated in every take).
STATIC_FEET_ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Photo", "Posing",
                       "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting")
WALKING_ACTIONS = ("WalkDog", "Walking", "WalkTogether")
DHP_ACTIVITIES = ("stand", "walk", "arms_up", "jacks", "squat", "crouch", "lunge", "lean",
                  "bend", "kneel", "sit_floor", "sit_chair")

# Arm presets: (clavicle elevation, shoulder flexion, abduction, internal rotation, elbow).
ARM_PRESETS = {
    "hang": (0, 4, 8, 10, 12),
    "relaxed": (0, 12, 12, 20, 40),
    "point_fwd": (6, 80, 8, 0, 8),
    "point_side": (6, 25, 75, 0, 10),
    "gesture": (2, 30, 22, 35, 85),
    "gesture_hi": (4, 50, 30, 20, 100),
    "phone": (12, 28, 38, 0, 145),
    "mouth": (6, 50, 22, 45, 140),
    "hip": (4, -10, 40, 50, 100),
    "behind": (0, -45, 15, 55, 75),
    "cross": (4, 32, 14, 75, 115),
    "wave": (16, 55, 70, -40, 105),
    "handshake": (0, 45, 8, 10, 45),
    "camera": (8, 62, 30, 50, 130),
    "carry": (0, 18, 10, 25, 85),
    "reach_down": (0, 55, 6, 5, 10),
    "table": (0, 38, 14, 30, 75),
    "lap": (0, 20, 12, 35, 65),
    "leash": (2, 42, 10, 10, 25),
    "partner": (10, 20, 75, 0, 35),
    # 3DHP-like only
    "overhead": (25, 172, 15, 0, 8),
    "up_v": (25, 150, 55, 0, 12),
    "t_pose": (10, 0, 90, 0, 5),
    "reach_up": (20, 135, 12, 0, 5),
    "jack_up": (25, 10, 165, 0, 5),
    "hands_head": (18, 85, 110, -55, 145),
    "guard": (0, 40, 30, 30, 130),
    "forward": (4, 90, 4, 0, 4),
    "floor_touch": (2, 80, 8, 0, 5),
    "behind_floor": (0, -45, 18, 0, 5),
    "knees": (0, 45, 12, 30, 70),
}


def preset(name: str) -> np.ndarray:
    return np.asarray(ARM_PRESETS[name], dtype=np.float64)


@dataclass(frozen=True)
class Style:
    """Per-subject motion style."""
    posture: np.ndarray        # (P,) degree offsets added to every pose
    stance_width: float        # distance between ankles when standing (m)
    toe_out: float             # knee/foot turn-out (deg)
    step_length: float         # walking step length (m)
    arm_swing: float           # walking arm-swing amplitude (deg)
    extension: float           # standing leg extension (fraction of the leg length)
    tempo: float               # gesture speed factor


def subject_style(rng: np.random.Generator) -> Style:
    """Draw a subject's style."""
    posture = np.zeros(NUM_ANGLES)
    for name, sd in (("pelvis_pitch", 3), ("waist_flex", 3), ("chest_flex", 3),
                     ("neck_flex", 5), ("waist_lat", 1.5), ("l_clav", 2), ("r_clav", 2),
                     ("l_sh_abd", 3), ("r_sh_abd", 3), ("l_elbow", 5), ("r_elbow", 5)):
        posture[A[name]] = rng.normal(0.0, sd)
    return Style(posture=posture, stance_width=float(rng.uniform(0.18, 0.30)),
                 toe_out=float(rng.uniform(4, 12)), step_length=float(rng.uniform(0.62, 0.74)),
                 arm_swing=float(rng.uniform(14, 28)), extension=float(rng.uniform(0.976, 0.992)),
                 tempo=float(rng.uniform(0.8, 1.2)))


# --------------------------------------------------------------------------- signal helpers
def wave(t: np.ndarray, rng: np.random.Generator, lo: float = 0.1, hi: float = 0.5,
         n: int = 1) -> np.ndarray:
    """Smooth random signal of peak magnitude <= 1: two sinusoids with random frequencies
    in [lo, hi] Hz and phases. t (T,) seconds -> (T, n)."""
    f = rng.uniform(lo, hi, size=(2, n))
    ph = rng.uniform(0, 2 * np.pi, size=(2, n))
    tt = t[:, None]
    return 0.6 * np.sin(2 * np.pi * f[0] * tt + ph[0]) + 0.4 * np.sin(2 * np.pi * f[1] * tt + ph[1])


def cycle(t: np.ndarray, rng: np.random.Generator, period: tuple[float, float],
          dwell: bool = False) -> np.ndarray:
    """Random-phase periodic weight in [0, 1] (raised cosine with a period drawn from
    ``period`` seconds; ``dwell`` holds longer at 0 and 1). t (T,) -> (T,)."""
    p = rng.uniform(*period)
    c = 0.5 - 0.5 * np.cos(2 * np.pi * t / p + rng.uniform(0, 2 * np.pi))
    return smoothstep(c) if dwell else c


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _rot2(deg: np.ndarray) -> np.ndarray:
    """(...,) degrees -> (..., 2, 2) planar rotations."""
    r = np.deg2rad(deg)
    c, s = np.cos(r), np.sin(r)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


class _Pose:
    """Mutable angle table (T, P) being composed by a generator."""

    def __init__(self, T: int, style: Style | None, rng: np.random.Generator, jitter: float):
        self.a = np.zeros((T, NUM_ANGLES))
        if style is not None:
            self.a += style.posture
        self.a += rng.normal(0.0, jitter, size=NUM_ANGLES)   # per-take posture variation

    def add(self, name: str, value) -> None:
        self.a[:, A[name]] += value

    def arm(self, side: int, values: np.ndarray) -> None:
        """Add arm angles (T, 5) or (5,) to side 0 (left) / 1 (right)."""
        self.a[:, ARM_COLUMNS[side]] += values

    def arms(self, left: np.ndarray, right: np.ndarray) -> None:
        self.arm(0, left)
        self.arm(1, right)


def blend(p: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-frame mix of two presets: (5,), (5,), w (T,) -> (T, 5)."""
    return p + (q - p) * w[:, None]


# --------------------------------------------------------------------------- leg behaviours
def _feet_standing(center: np.ndarray, yaw: np.ndarray, width, stagger, body: Body) -> np.ndarray:
    """Ankle targets (T, 2, 3) around ``center`` (T, 2): lateral spacing ``width``, the left
    foot ``stagger`` m ahead of the right (both may be per-frame)."""
    T = len(yaw)
    width = np.broadcast_to(width, (T,))
    stagger = np.broadcast_to(stagger, (T,))
    local = np.stack([np.stack([stagger / 2, width / 2], -1),
                      np.stack([-stagger / 2, -width / 2], -1)], 1)       # (T, 2, 2)
    xy = center[:, None] + np.einsum("tij,tkj->tki", _rot2(yaw), local)
    return np.concatenate([xy, np.full((T, 2, 1), body.ankle_height)], -1)


def pelvis_height(root_xy: np.ndarray, yaw: np.ndarray, angles: np.ndarray, feet: np.ndarray,
                  planted: np.ndarray, extension: np.ndarray, body: Body) -> np.ndarray:
    """Pelvis height (T,) at which every planted leg spans ``extension`` x leg length (the
    most stretched planted leg sets it), so planted ankles reach their floor targets."""
    R = pelvis_rotation(yaw, angles)
    off = np.einsum("tij,kj->tki", R, hip_offsets(body))             # (T, 2, 3)
    horiz = np.linalg.norm(root_xy[:, None] + off[..., :2] - feet[..., :2], axis=-1)
    reach = np.broadcast_to(np.asarray(extension, dtype=np.float64), yaw.shape)[:, None] * body.leg
    horiz = np.minimum(horiz, 0.97 * reach)
    z = feet[..., 2] - off[..., 2] + np.sqrt(reach ** 2 - horiz ** 2)
    z = np.where(planted, z, np.inf)
    return z.min(axis=1)


def _standing(t, body, style, rng, pose: _Pose, center, yaw, *, width=None, stagger=0.0,
              extension=None, sway=0.02, lean_back=None) -> PoseTrack:
    """Both feet planted; the pelvis sways over them (weight shift) and moves back when the
    trunk bends forward (balance)."""
    T = len(t)
    width = style.stance_width if width is None else width
    foot_yaw = np.full(T, yaw[0])          # planted feet do not turn with the pelvis
    feet = _feet_standing(np.broadcast_to(center, (T, 2)), foot_yaw, width, stagger, body)
    shift = sway * wave(t, rng, 0.08, 0.3, 2)                                  # (T, 2)
    if lean_back is not None:
        shift[:, 0] -= lean_back
    root_xy = feet[:, :, :2].mean(1) + np.einsum("tij,tj->ti", _rot2(yaw), shift)
    planted = np.ones((T, 2), bool)
    ext = style.extension if extension is None else extension
    pose.add("l_knee_out", style.toe_out)
    pose.add("r_knee_out", style.toe_out)
    z = pelvis_height(root_xy, yaw, pose.a, feet, planted, ext, body)
    root = np.concatenate([root_xy, z[:, None]], -1)
    return PoseTrack(pose.a, yaw, root, feet, planted)


def _trunk_lean_back(pose: _Pose, body: Body) -> np.ndarray:
    """Horizontal pelvis shift (T,) that keeps the upper body over the feet when bending."""
    flex = np.deg2rad(pose.a[:, A["pelvis_pitch"]] + pose.a[:, A["waist_flex"]]
                      + 0.5 * pose.a[:, A["chest_flex"]])
    return 0.3 * (body.waist + body.thorax) * np.sin(np.clip(flex, 0, None))


def _seated(t, body, style, rng, pose: _Pose, center, yaw, *, seat=None,
            foot_fwd=None) -> PoseTrack:
    """Pelvis on a chair, both feet planted in front of the knees."""
    T = len(t)
    seat = body.ankle_height + rng.uniform(0.92, 1.05) * body.shin if seat is None else seat
    foot_fwd = rng.uniform(0.38, 0.55) * body.leg / 0.89 if foot_fwd is None else foot_fwd
    foot_yaw = np.full(T, yaw[0])
    fwd = np.stack([np.cos(np.deg2rad(foot_yaw)), np.sin(np.deg2rad(foot_yaw))], -1)
    wid = style.stance_width + rng.uniform(0.0, 0.12)
    stagger = rng.uniform(-0.08, 0.08)
    base = np.broadcast_to(center, (T, 2))
    root_xy = base + 0.01 * wave(t, rng, 0.1, 0.3, 2)
    feet = _feet_standing(base + foot_fwd * fwd, foot_yaw, wid, stagger, body)
    pose.add("pelvis_pitch", -8.0)
    pose.add("l_knee_out", style.toe_out + 4)
    pose.add("r_knee_out", style.toe_out + 4)
    root = np.concatenate([root_xy, np.full((T, 1), seat)], -1)
    return PoseTrack(pose.a, yaw, root, feet, np.ones((T, 2), bool))


def _walking(t, body, style, rng, pose: _Pose, *, speed, center, radius, direction,
             lift=0.1, extension=0.975, swing=None) -> PoseTrack:
    """Gait around a circle (H36M subjects walk loops in the capture area).

    Phase = travelled arc / stride; each foot is planted for 60 % of its cycle at a point
    half-way through its stance and swings on a raised arc to the next one.
    """
    T = len(t)
    step = style.step_length * np.sqrt(speed / 1.25)
    s = speed * t                                                          # arc length
    theta0 = rng.uniform(0, 2 * np.pi)

    def on_circle(arc, lateral):
        th = theta0 + direction * arc / radius
        r = radius - direction * lateral
        return center + np.stack([r * np.cos(th), r * np.sin(th)], -1), th

    root_xy, th = on_circle(s, 0.0)
    phase = s / (2 * step)
    # The right leg is furthest ahead at phase 0.55 (mod 1), the left at 0.05: the pelvis turns
    # with the leading leg, the thorax counter-rotates, the opposite arm swings forward.
    g = 2 * np.pi * phase
    lead = np.cos(g - 2 * np.pi * 0.55)                   # +1 right leg ahead, -1 left ahead
    yaw = np.rad2deg(th) + direction * 90.0 + 5.0 * lead
    feet = np.zeros((T, 2, 3))
    planted = np.zeros((T, 2), bool)
    for k, (offset, lateral) in enumerate(((0.0, style.stance_width / 2),
                                           (0.5, -style.stance_width / 2))):
        psi = phase - offset
        cyc = np.floor(psi)
        f = psi - cyc
        stance = f < 0.6
        a0 = (cyc + offset + 0.3) * 2 * step
        u = smoothstep((f - 0.6) / 0.4)
        arc = np.where(stance, a0, a0 + u * 2 * step)
        xy, _ = on_circle(arc, lateral)
        feet[:, k, :2] = xy
        feet[:, k, 2] = body.ankle_height + np.where(stance, 0.0, lift * np.sin(np.pi * u))
        planted[:, k] = stance
    pose.add("pelvis_roll", 3.0 * np.sin(2 * g))
    pose.add("waist_twist", -7.0 * lead)
    pose.add("chest_twist", -3.0 * lead)
    amp = style.arm_swing if swing is None else swing
    for side, c in ((0, lead), (1, -lead)):
        pose.a[:, ARM_COLUMNS[side][1]] += amp * c
        pose.a[:, ARM_COLUMNS[side][4]] += 0.5 * amp * np.clip(c, 0, None)
    pose.add("l_knee_out", style.toe_out)
    pose.add("r_knee_out", style.toe_out)
    z = pelvis_height(root_xy, yaw, pose.a, feet, planted, extension, body)
    root = np.concatenate([root_xy, z[:, None]], -1)
    return PoseTrack(pose.a, yaw, root, feet, planted)


# --------------------------------------------------------------------------- H36M-like actions
def _place(rng, r_max=0.8):
    """Random standing place in the capture area and a heading (deg)."""
    r = r_max * np.sqrt(rng.uniform())
    a = rng.uniform(0, 2 * np.pi)
    return np.array([r * np.cos(a), r * np.sin(a)]), rng.uniform(-180, 180)


def _head_and_trunk(pose: _Pose, t, rng, turn=20.0, nod=6.0, twist=6.0, tempo=1.0) -> None:
    pose.add("neck_turn", turn * wave(t, rng, 0.05 * tempo, 0.3 * tempo)[:, 0])
    pose.add("neck_flex", nod * wave(t, rng, 0.1 * tempo, 0.5 * tempo)[:, 0])
    pose.add("chest_twist", twist * wave(t, rng, 0.05, 0.25)[:, 0])
    pose.add("waist_flex", 2.0 * wave(t, rng, 0.2, 0.4)[:, 0])   # breathing / sway


def _yaw_track(t, rng, base, amount=10.0):
    return base + amount * wave(t, rng, 0.03, 0.15)[:, 0]


def _pick(rng, names):
    return preset(names[rng.integers(len(names))])


def h36m_clip(action: str, body: Body, style: Style, rng: np.random.Generator,
              n_frames: int) -> PoseTrack:
    """One take of an H36M-like action: n_frames at 50 Hz starting at a random time."""
    if action not in _ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {H36M_ACTIONS}")
    t = rng.uniform(0, 30) + np.arange(n_frames) / FPS
    return keep_arms_outside_torso(_ACTIONS[action](t, body, style, rng), body)


def keep_arms_outside_torso(track: PoseTrack, body: Body, step: float = 6.0,
                            max_iter: int = 12) -> PoseTrack:
    """Abduct (and externally rotate) an arm in the frames where it would come closer than
    TORSO_CLEARANCE to the torso axis, until it clears. A few whole-array passes."""
    for _ in range(max_iter):
        close = arm_torso_clearance(forward_kinematics(track, body).joints) < TORSO_CLEARANCE
        if not close.any():
            break
        for side in (0, 1):
            cols = ARM_COLUMNS[side]
            track.angles[close[:, side], cols[2]] += step
            track.angles[close[:, side], cols[3]] -= step / 2
    track.angles = np.clip(track.angles, LIMITS[:, 0], LIMITS[:, 1])
    return track


def _side(rng):
    s = int(rng.integers(2))
    return s, 1 - s


def _directions(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    s, o = _side(rng)
    w = cycle(t * style.tempo, rng, (2.5, 5.0), dwell=True)
    pose.arm(s, blend(preset("hang"), _pick(rng, ("point_fwd", "point_side", "gesture_hi")), w))
    pose.arm(o, blend(preset("hang"), preset("relaxed"), cycle(t, rng, (3, 6))))
    _head_and_trunk(pose, t, rng, turn=30.0, tempo=style.tempo)
    pose.add("chest_twist", (10.0 if s == 1 else -10.0) * w)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 15.0))


def _discussion(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    for side in (0, 1):
        w = cycle(t * style.tempo, rng, (1.2, 3.0))
        pose.arm(side, blend(preset("relaxed"), _pick(rng, ("gesture", "gesture_hi", "hip")), w))
    _head_and_trunk(pose, t, rng, turn=35.0, nod=10.0, tempo=style.tempo)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 20.0),
                     stagger=rng.uniform(-0.15, 0.15), sway=0.04)


def _eating(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng, 0.6)
    s, o = _side(rng)
    w = cycle(t * style.tempo, rng, (2.5, 4.5), dwell=True)
    pose.arm(s, blend(preset("table"), preset("mouth"), w))
    pose.arm(o, blend(preset("table"), preset("lap"), cycle(t, rng, (4, 8))))
    pose.add("waist_flex", rng.uniform(8, 22) + 6 * w)
    pose.add("neck_flex", rng.uniform(5, 20))
    _head_and_trunk(pose, t, rng, turn=12.0)
    return _seated(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 5.0))


def _greeting(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    s, o = _side(rng)
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
    _head_and_trunk(pose, t, rng, turn=15.0)
    pose_track = _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                           lean_back=_trunk_lean_back(pose, body))
    return pose_track


def _phoning(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    s, o = _side(rng)
    pose.arm(s, preset("phone") + rng.normal(0, 4, 5) * [0, 1, 1, 1, 0.5])
    pose.add("neck_lat", (-1 if s == 0 else 1) * rng.uniform(4, 14))
    pose.arm(o, blend(preset("hang"), _pick(rng, ("hip", "gesture", "relaxed")),
                      cycle(t, rng, (3, 6))))
    _head_and_trunk(pose, t, rng, turn=20.0)
    if rng.uniform() < 0.5:
        return _walking(t, body, style, rng, pose, speed=rng.uniform(0.5, 0.8),
                        center=rng.uniform(-0.3, 0.3, 2), radius=rng.uniform(0.9, 1.4),
                        direction=rng.choice((-1, 1)), swing=0.4 * style.arm_swing)
    c, y = _place(rng)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 20.0), sway=0.04)


def _photo(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    w = cycle(t * style.tempo, rng, (3.0, 6.0), dwell=True)
    pose.arms(blend(preset("relaxed"), preset("camera"), w),
              blend(preset("relaxed"), preset("camera"), w))
    pose.add("neck_flex", -5 * w)
    crouch = rng.uniform(0.0, 0.08) * cycle(t, rng, (4, 8))
    pose.add("waist_flex", 10 * crouch / 0.08)
    _head_and_trunk(pose, t, rng, turn=10.0, nod=4.0)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 25.0),
                     extension=style.extension - crouch, stagger=rng.uniform(-0.2, 0.2),
                     lean_back=_trunk_lean_back(pose, body))


def _posing(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
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
    _head_and_trunk(pose, t, rng, turn=20.0)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     width=style.stance_width + rng.uniform(0, 0.12),
                     stagger=rng.uniform(-0.25, 0.25))


def _purchases(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    w = cycle(t * style.tempo, rng, (3.0, 6.0), dwell=True)
    depth = rng.uniform(20, 45)
    pose.add("waist_flex", depth * w)
    pose.add("chest_flex", 0.3 * depth * w)
    pose.add("neck_flex", 10 * w)
    s, o = _side(rng)
    pose.arm(s, blend(preset("carry"), preset("reach_down"), w))
    pose.arm(o, blend(preset("carry"), _pick(rng, ("reach_down", "relaxed", "hip")), w))
    _head_and_trunk(pose, t, rng, turn=15.0)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     extension=style.extension - rng.uniform(0.0, 0.05) * w,
                     lean_back=_trunk_lean_back(pose, body))


def _sitting(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _place(rng, 0.6)
    lean = rng.uniform(-12, 25) + 8 * wave(t, rng, 0.05, 0.2)[:, 0]
    pose.add("waist_flex", lean)
    pose.add("waist_lat", rng.uniform(-8, 8))
    choices = ("lap", "table", "relaxed", "mouth", "cross", "gesture")
    w = cycle(t * style.tempo, rng, (3.0, 7.0), dwell=True)
    pose.arms(blend(preset("lap"), _pick(rng, choices), w),
              blend(preset("lap"), _pick(rng, choices), cycle(t, rng, (3.0, 7.0), dwell=True)))
    _head_and_trunk(pose, t, rng, turn=30.0, nod=10.0)
    return _seated(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 5.0))


def _sitting_down(t, body, style, rng):
    """Stand -> sit (or back) with the trunk bending forward mid-way; random clip phase."""
    pose = _Pose(len(t), style, rng, 3.0)
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
    _head_and_trunk(pose, t, rng, turn=10.0)
    seat_h = body.ankle_height + rng.uniform(0.85, 1.0) * body.shin
    seated = _seated(t, body, style, rng, pose, c, y + np.zeros(len(t)), seat=seat_h)
    # Standing pelvis: above the same feet, moved forward over them.
    stand_xy = seated.feet[:, :, :2].mean(1)
    stand_z = pelvis_height(stand_xy, seated.yaw, seated.angles, seated.feet,
                            seated.planted, style.extension, body)
    seated.root[:, :2] = stand_xy + (seated.root[:, :2] - stand_xy) * w[:, None]
    seated.root[:, 2] = stand_z + (seat_h - stand_z) * w
    seated.angles[:, A["pelvis_pitch"]] += 8.0 * (1 - w)   # undo the seated pelvis tilt
    return seated


def _smoking(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    s, o = _side(rng)
    w = cycle(t * style.tempo, rng, (3.0, 6.0), dwell=True)
    pose.arm(s, blend(_pick(rng, ("hang", "relaxed", "cross")), preset("mouth"), w))
    pose.arm(o, _pick(rng, ("cross", "hang", "hip", "behind")))
    pose.add("neck_flex", -4 * w)
    _head_and_trunk(pose, t, rng, turn=25.0)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y), sway=0.03)


def _waiting(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    c, y = _place(rng)
    p = _pick(rng, ("behind", "cross", "hang", "relaxed", "hip"))
    q = p if rng.uniform() < 0.6 else _pick(rng, ("hang", "relaxed", "hip"))
    pose.arms(p, q)
    _head_and_trunk(pose, t, rng, turn=40.0, nod=8.0, tempo=0.6)
    pose.add("pelvis_roll", 4 * wave(t, rng, 0.05, 0.15)[:, 0])
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 15.0), sway=0.05,
                     stagger=rng.uniform(-0.15, 0.15))


def _walk_common(t, body, style, rng, pose, speed, **kw):
    return _walking(t, body, style, rng, pose, speed=speed, center=rng.uniform(-0.3, 0.3, 2),
                    radius=rng.uniform(1.0, 1.5), direction=rng.choice((-1, 1)), **kw)


def _walk_dog(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    s, o = _side(rng)
    pose.arm(s, preset("leash") + 5 * wave(t, rng, 0.5, 1.5, 5) * [0, 1, 1, 0, 1])
    pose.arm(o, preset("hang"))
    pose.add("waist_flex", rng.uniform(5, 15))
    pose.add("neck_flex", rng.uniform(10, 25))
    _head_and_trunk(pose, t, rng, turn=15.0)
    return _walk_common(t, body, style, rng, pose, rng.uniform(0.7, 1.0),
                        swing=0.5 * style.arm_swing)


def _walking_action(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 2.0)
    pose.arms(preset("hang"), preset("hang"))
    _head_and_trunk(pose, t, rng, turn=8.0, nod=4.0, twist=2.0)
    return _walk_common(t, body, style, rng, pose, rng.uniform(1.1, 1.45))


def _walk_together(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    s, o = _side(rng)
    pose.arm(s, preset("partner") if rng.uniform() < 0.3 else preset("hang"))
    pose.arm(o, preset("hang"))
    pose.add("neck_turn", (1 if s == 0 else -1) * rng.uniform(10, 35))
    _head_and_trunk(pose, t, rng, turn=10.0)
    return _walk_common(t, body, style, rng, pose, rng.uniform(0.8, 1.15),
                        swing=0.6 * style.arm_swing)


_ACTIONS = {
    "Directions": _directions, "Discussion": _discussion, "Eating": _eating,
    "Greeting": _greeting, "Phoning": _phoning, "Photo": _photo, "Posing": _posing,
    "Purchases": _purchases, "Sitting": _sitting, "SittingDown": _sitting_down,
    "Smoking": _smoking, "Waiting": _waiting, "WalkDog": _walk_dog, "Walking": _walking_action,
    "WalkTogether": _walk_together,
}


# --------------------------------------------------------------------------- 3DHP-like world
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
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    ups = ("overhead", "up_v", "reach_up", "t_pose", "hands_head", "jack_up")
    for side in (0, 1):
        w = cycle(t, rng, (2.0, 5.0), dwell=True)
        pose.arm(side, blend(_pick(rng, ("hang", "t_pose", "relaxed")), _pick(rng, ups), w))
    pose.add("neck_flex", -rng.uniform(0, 20))
    pose.add("chest_flex", -rng.uniform(0, 10))
    _head_and_trunk(pose, t, rng, turn=20.0)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 30.0),
                     width=rng.uniform(0.2, 0.6))


def _jacks(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (0.8, 1.6))
    arms = blend(preset("hang"), preset("jack_up"), w)
    pose.arms(arms, arms)
    pose.add("l_knee_out", 15 * w)
    pose.add("r_knee_out", 15 * w)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     width=0.25 + rng.uniform(0.35, 0.6) * w, extension=0.985 - 0.05 * w)


def _squat(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (1.5, 3.5), dwell=True)
    pose.add("waist_flex", rng.uniform(15, 40) * w)
    pose.add("pelvis_pitch", 15 * w)
    arm = _pick(rng, ("forward", "hands_head", "guard", "hip"))
    pose.arms(blend(preset("hang"), arm, w), blend(preset("hang"), arm, w))
    pose.add("l_knee_out", 15 * w)
    pose.add("r_knee_out", 15 * w)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     width=rng.uniform(0.35, 0.6), extension=0.98 - rng.uniform(0.35, 0.5) * w,
                     lean_back=_trunk_lean_back(pose, body))


def _crouch(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 5.0)
    c, y = _dhp_place(rng)
    pose.add("waist_flex", rng.uniform(15, 40))
    pose.add("pelvis_pitch", rng.uniform(5, 20))
    pose.add("neck_flex", -rng.uniform(10, 35))
    for side in (0, 1):
        pose.arm(side, blend(_pick(rng, ("floor_touch", "knees", "forward")),
                             _pick(rng, ("floor_touch", "guard", "reach_down")),
                             cycle(t, rng, (2, 5))))
    pose.add("l_knee_out", 20)
    pose.add("r_knee_out", 20)
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 20.0),
                     width=rng.uniform(0.3, 0.55), stagger=rng.uniform(-0.2, 0.2),
                     extension=rng.uniform(0.42, 0.58) + 0.03 * wave(t, rng, 0.1, 0.4)[:, 0],
                     lean_back=_trunk_lean_back(pose, body))


def _lunge(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (2.0, 4.0), dwell=True)
    arm = _pick(rng, ("hip", "overhead", "t_pose", "forward"))
    pose.arms(blend(preset("relaxed"), arm, w), blend(preset("relaxed"), arm, w))
    pose.add("chest_flex", -rng.uniform(0, 10))
    sign = rng.choice((-1.0, 1.0))
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     width=rng.uniform(0.2, 0.35), stagger=sign * (0.3 + rng.uniform(0.4, 0.6) * w),
                     extension=0.97 - rng.uniform(0.15, 0.3) * w)


def _lean(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (2.5, 5.0), dwell=True)
    sign = rng.choice((-1.0, 1.0))
    amount = rng.uniform(20, 30)
    pose.add("waist_lat", sign * amount * w)
    pose.add("chest_lat", sign * 0.7 * amount * w)
    pose.add("waist_flex", rng.uniform(-10, 25) * w)
    up, down = (0, 1) if sign > 0 else (1, 0)     # leaning right raises the left arm
    pose.arm(up, blend(preset("hang"), _pick(rng, ("overhead", "reach_up", "hands_head")), w))
    pose.arm(down, blend(preset("hang"), _pick(rng, ("hip", "hang", "reach_down")), w))
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     width=rng.uniform(0.45, 0.85))


def _bend(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    w = cycle(t, rng, (2.5, 5.0), dwell=True)
    pose.add("pelvis_pitch", rng.uniform(25, 40) * w)
    pose.add("waist_flex", rng.uniform(40, 65) * w)
    pose.add("chest_flex", rng.uniform(10, 30) * w)
    pose.add("waist_twist", rng.uniform(-20, 20) * w)
    pose.add("neck_flex", -20 * w)
    pose.arms(blend(preset("hang"), preset("floor_touch"), w),
              blend(preset("hang"), _pick(rng, ("floor_touch", "reach_down", "behind")), w))
    return _standing(t, body, style, rng, pose, c, _yaw_track(t, rng, y),
                     width=rng.uniform(0.25, 0.6), extension=0.99 - rng.uniform(0, 0.06) * w,
                     lean_back=_trunk_lean_back(pose, body))


def _kneel(t, body, style, rng):
    """One or both knees on the floor; the pelvis follows the kneeling thigh."""
    T = len(t)
    pose = _Pose(T, style, rng, 4.0)
    c, yaw0 = _dhp_place(rng)
    yaw = yaw0 + 5 * wave(t, rng, 0.05, 0.2)[:, 0]
    pose.add("waist_flex", rng.uniform(-5, 30) + 8 * wave(t, rng, 0.1, 0.3)[:, 0])
    for side in (0, 1):
        pose.arm(side, blend(_pick(rng, ("hang", "knees", "hip")),
                             _pick(rng, ("forward", "overhead", "gesture_hi", "guard")),
                             cycle(t, rng, (2.0, 5.0), dwell=True)))
    _head_and_trunk(pose, t, rng, turn=25.0)
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
    pose = _Pose(len(t), style, rng, 4.0)
    c, y = _dhp_place(rng)
    pose.add("pelvis_pitch", -rng.uniform(5, 20))
    pose.add("waist_flex", rng.uniform(0, 20) + 5 * wave(t, rng, 0.1, 0.3)[:, 0])
    arm = _pick(rng, ("behind_floor", "knees", "hang", "gesture"))
    pose.arms(arm, arm if rng.uniform() < 0.6 else _pick(rng, ("knees", "gesture", "overhead")))
    _head_and_trunk(pose, t, rng, turn=25.0)
    return _seated(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 10.0),
                   seat=rng.uniform(0.10, 0.14), foot_fwd=rng.uniform(0.45, 0.75))


def _sit_chair(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 5.0)
    c, y = _dhp_place(rng)
    pose.add("waist_flex", rng.uniform(-15, 35))
    pose.add("waist_lat", rng.uniform(-15, 15))
    for side in (0, 1):
        pose.arm(side, blend(preset("lap"), _pick(rng, ("overhead", "t_pose", "hands_head",
                                                         "forward", "gesture")),
                             cycle(t, rng, (2.0, 5.0), dwell=True)))
    _head_and_trunk(pose, t, rng, turn=30.0, nod=12.0)
    return _seated(t, body, style, rng, pose, c, _yaw_track(t, rng, y, 10.0))


def _dhp_stand(t, body, style, rng):
    return _ACTIONS[str(rng.choice(("Waiting", "Discussion", "Directions", "Smoking")))](
        t, body, style, rng)


def _dhp_walk(t, body, style, rng):
    pose = _Pose(len(t), style, rng, 3.0)
    pose.arms(preset("hang"), preset("hang"))
    _head_and_trunk(pose, t, rng, turn=10.0)
    return _walking(t, body, style, rng, pose, speed=rng.uniform(0.6, 1.4),
                    center=np.zeros(2), radius=rng.uniform(0.7, 1.0),
                    direction=rng.choice((-1, 1)))


_DHP = {
    "stand": _dhp_stand, "walk": _dhp_walk, "arms_up": _arms_up, "jacks": _jacks,
    "squat": _squat, "crouch": _crouch, "lunge": _lunge, "lean": _lean, "bend": _bend,
    "kneel": _kneel, "sit_floor": _sit_floor, "sit_chair": _sit_chair,
}
