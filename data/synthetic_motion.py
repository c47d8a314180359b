"""Shared parts of the synthetic dataset's motion model (50 Hz joint-angle trajectories).

What both worlds (data/synthetic_h36m_actions.py, data/synthetic_dhp_world.py) are made of:
arm presets, the per-subject :class:`Style`, smooth random signals, the :class:`PoseBuilder`
angle table, the three leg behaviours (planted feet, a seated pelvis, a gait around a loop)
and the repair that keeps arms out of the torso. Generators compose a clip by adding angle
terms to a PoseBuilder and handing it to one leg behaviour, which places the pelvis so that
planted ankles stay on their floor targets. See docs/data_formats.md#synthetic-dataset.

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
    """Arm preset ``name`` as a (5,) float array, degrees."""
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
    """Cubic ease 3x^2 - 2x^3 of x clipped to [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _rot2(deg: np.ndarray) -> np.ndarray:
    """(...,) degrees -> (..., 2, 2) planar rotations."""
    r = np.deg2rad(deg)
    c, s = np.cos(r), np.sin(r)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


class PoseBuilder:
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


def standing_track(t: np.ndarray, body: Body, style: Style, rng: np.random.Generator,
                   pose: PoseBuilder, center: np.ndarray, yaw: np.ndarray, *, width=None,
                   stagger=0.0, extension=None, sway: float = 0.02,
                   lean_back: np.ndarray | None = None) -> PoseTrack:
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


def trunk_lean_back(pose: PoseBuilder, body: Body) -> np.ndarray:
    """Horizontal pelvis shift (T,) that keeps the upper body over the feet when bending."""
    flex = np.deg2rad(pose.a[:, A["pelvis_pitch"]] + pose.a[:, A["waist_flex"]]
                      + 0.5 * pose.a[:, A["chest_flex"]])
    return 0.3 * (body.waist + body.thorax) * np.sin(np.clip(flex, 0, None))


def seated_track(t: np.ndarray, body: Body, style: Style, rng: np.random.Generator,
                 pose: PoseBuilder, center: np.ndarray, yaw: np.ndarray, *,
                 seat: float | None = None, foot_fwd: float | None = None) -> PoseTrack:
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


def walking_track(t: np.ndarray, body: Body, style: Style, rng: np.random.Generator,
                  pose: PoseBuilder, *, speed: float, center: np.ndarray, radius: float,
                  direction: int, lift: float = 0.1, extension: float = 0.975,
                  swing: float | None = None) -> PoseTrack:
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


# --------------------------------------------------------------------------- composition helpers
def head_and_trunk(pose: PoseBuilder, t: np.ndarray, rng: np.random.Generator,
                   turn: float = 20.0, nod: float = 6.0, twist: float = 6.0,
                   tempo: float = 1.0) -> None:
    """Add head turns and nods, a chest twist and a breathing sway (amplitudes in degrees)."""
    pose.add("neck_turn", turn * wave(t, rng, 0.05 * tempo, 0.3 * tempo)[:, 0])
    pose.add("neck_flex", nod * wave(t, rng, 0.1 * tempo, 0.5 * tempo)[:, 0])
    pose.add("chest_twist", twist * wave(t, rng, 0.05, 0.25)[:, 0])
    pose.add("waist_flex", 2.0 * wave(t, rng, 0.2, 0.4)[:, 0])   # breathing / sway


def yaw_track(t: np.ndarray, rng: np.random.Generator, base: float,
              amount: float = 10.0) -> np.ndarray:
    """Slowly drifting pelvis heading (T,) degrees around ``base``."""
    return base + amount * wave(t, rng, 0.03, 0.15)[:, 0]


def pick_preset(rng: np.random.Generator, names: tuple[str, ...]) -> np.ndarray:
    """One of the named arm presets, uniformly at random."""
    return preset(names[rng.integers(len(names))])


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


def pick_side(rng: np.random.Generator) -> tuple[int, int]:
    """(active side, other side), 0 = left, 1 = right, uniformly at random."""
    s = int(rng.integers(2))
    return s, 1 - s

