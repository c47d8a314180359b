"""Body model of the synthetic dataset: bone lengths, joint-angle layout, forward kinematics.

This is the dataset's *own* kinematic model (deliberately unrelated to the DH model in
``models/``): a pelvis frame, a two-segment spine, a rigid neck/head, clavicles, 3-DOF
shoulders and hinge elbows, driven by named joint angles in degrees; the legs are solved by
analytic two-bone inverse kinematics towards ankle targets, so feet stay exactly where the
motion model plants them. Every bone keeps the subject's length in every frame.

World frame: metres, z up, floor at z = 0. Body frame (angle 0): x forward, y left, z up.
Side axis of per-side arrays: index 0 = left, 1 = right.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import skeleton

# Template-order bone lengths (m): RHip RThigh RShin LHip LThigh LShin Waist Thorax Head
# LShoulder LUpperArm LForearm RShoulder RUpperArm RForearm. S1..S8 are the published template
# rows of docs/data_formats.md#bone-templates (so the regenerated template file reproduces them);
# S9 and S11 are our own.
_HALF = {  # hip, thigh, shin, waist, thorax, head, shoulder, upper arm, forearm
    "S1": (0.1329, 0.4429, 0.4542, 0.2335, 0.2571, 0.1819, 0.1510, 0.2789, 0.2517),
    "S5": (0.1193, 0.4283, 0.4424, 0.2243, 0.2541, 0.1662, 0.1431, 0.2646, 0.2486),
    "S6": (0.1426, 0.4866, 0.4615, 0.2622, 0.2600, 0.1925, 0.1494, 0.3010, 0.2579),
    "S7": (0.1359, 0.4486, 0.4380, 0.2262, 0.2554, 0.1687, 0.1397, 0.2756, 0.2473),
    "S8": (0.1465, 0.4521, 0.4386, 0.2612, 0.2510, 0.2128, 0.1693, 0.2899, 0.2442),
    "S9": (0.1384, 0.4617, 0.4493, 0.2457, 0.2566, 0.1851, 0.1562, 0.2874, 0.2521),
    "S11": (0.1302, 0.4378, 0.4452, 0.2301, 0.2522, 0.1764, 0.1478, 0.2718, 0.2476),
}


def _template_row(h: tuple) -> np.ndarray:
    hip, thigh, shin, waist, thorax, head, sho, ua, fa = h
    return np.array([hip, thigh, shin, hip, thigh, shin, waist, thorax, head,
                     sho, ua, fa, sho, ua, fa], dtype=np.float64)


SUBJECT_BONES = {s: _template_row(h) for s, h in _HALF.items()}

# Head top leans slightly forward of the thorax -> head axis at rest.
_HEAD_TILT = np.deg2rad(8.0)
# Shoulders sit slightly below the thorax (neck base).
_SHOULDER_DROP = np.deg2rad(8.0)
# Foot geometry used for the 32-joint fill (fractions of the shin length).
_TOE_FRACTION, _SITE_FRACTION = 0.30, 0.42


@dataclass(frozen=True)
class Body:
    """One person: template-order bone lengths (15,) in metres and the ankle height above
    the floor when the foot is flat."""
    bones: np.ndarray
    ankle_height: float

    def _b(self, k: int) -> float:
        return float(self.bones[k])

    hip = property(lambda self: self._b(0))
    thigh = property(lambda self: self._b(1))
    shin = property(lambda self: self._b(2))
    waist = property(lambda self: self._b(6))
    thorax = property(lambda self: self._b(7))
    head = property(lambda self: self._b(8))
    shoulder = property(lambda self: self._b(9))
    upper_arm = property(lambda self: self._b(10))
    forearm = property(lambda self: self._b(11))

    @property
    def leg(self) -> float:
        return self.thigh + self.shin


def ankle_height_for(shin: float) -> float:
    """Ankle-joint height above the floor for a flat foot (~9 cm for a 45 cm shin)."""
    return 0.2 * shin


def subject_body(subject: str) -> Body:
    """The fixed body of an H36M-like subject (S1, S5, S6, S7, S8, S9, S11)."""
    bones = SUBJECT_BONES[subject]
    return Body(bones=bones.copy(), ankle_height=ankle_height_for(bones[2]))


def random_body(rng: np.random.Generator) -> Body:
    """A new person for the 3DHP-like world: mean template scaled by 0.9..1.08, each
    bone (both sides alike) jittered by up to 5 %."""
    mean = np.mean([SUBJECT_BONES[s] for s in ("S1", "S5", "S6", "S7", "S8")], axis=0)
    half = rng.uniform(0.95, 1.05, size=9)
    jitter = _template_row(tuple(half))
    bones = mean * rng.uniform(0.9, 1.08) * jitter
    return Body(bones=bones, ankle_height=ankle_height_for(bones[2]))


# --------------------------------------------------------------------------- angle layout
# Degrees. Per-side names use l_/r_ prefixes; the same value means the mirrored motion.
ANGLE_LIMITS = {
    "pelvis_pitch": (-25, 45),   # forward tilt of the pelvis
    "pelvis_roll": (-20, 20),    # + = right hip down
    "waist_flex": (-25, 70), "waist_lat": (-30, 30), "waist_twist": (-35, 35),
    "chest_flex": (-20, 45), "chest_lat": (-25, 25), "chest_twist": (-30, 30),
    "neck_flex": (-40, 55), "neck_lat": (-35, 35), "neck_turn": (-70, 70),
    "l_clav": (-10, 30), "l_sh_flex": (-50, 180), "l_sh_abd": (-30, 180),
    "l_sh_rot": (-60, 90), "l_elbow": (0, 150),
    "r_clav": (-10, 30), "r_sh_flex": (-50, 180), "r_sh_abd": (-30, 180),
    "r_sh_rot": (-60, 90), "r_elbow": (0, 150),
    "l_knee_out": (-15, 45), "r_knee_out": (-15, 45),
}
ANGLE_NAMES = tuple(ANGLE_LIMITS)
NUM_ANGLES = len(ANGLE_NAMES)
A = {n: i for i, n in enumerate(ANGLE_NAMES)}
LIMITS = np.array([ANGLE_LIMITS[n] for n in ANGLE_NAMES], dtype=np.float64)  # (P, 2)
ARM_FIELDS = ("clav", "sh_flex", "sh_abd", "sh_rot", "elbow")
ARM_COLUMNS = np.array([[A[f"{s}_{f}"] for f in ARM_FIELDS] for s in ("l", "r")])  # (2, 5)
KNEE_OUT_COLUMNS = np.array([A["l_knee_out"], A["r_knee_out"]])


@dataclass
class PoseTrack:
    """A motion clip of T frames.

    angles  (T, P) degrees, columns ANGLE_NAMES (clipped to ANGLE_LIMITS by the kinematics)
    yaw     (T,) degrees, heading of the pelvis about world z (0 = facing +x)
    root    (T, 3) pelvis (root joint) position, world metres
    feet    (T, 2, 3) ankle targets [left, right], world metres
    planted (T, 2) bool, foot flat on the floor
    """
    angles: np.ndarray
    yaw: np.ndarray
    root: np.ndarray
    feet: np.ndarray
    planted: np.ndarray

    def __len__(self) -> int:
        return self.angles.shape[0]

    def take(self, idx: np.ndarray) -> "PoseTrack":
        return PoseTrack(self.angles[idx], self.yaw[idx], self.root[idx], self.feet[idx],
                         self.planted[idx])

    @staticmethod
    def concat(tracks: list["PoseTrack"]) -> "PoseTrack":
        return PoseTrack(*(np.concatenate([getattr(t, k) for t in tracks])
                           for k in ("angles", "yaw", "root", "feet", "planted")))


# --------------------------------------------------------------------------- rotations
def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Active rotation matrices about a body axis. angle (...,) radians -> (..., 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(np.shape(angle) + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1.0
    out[..., i, i] = c
    out[..., j, j] = c
    out[..., i, j] = -s
    out[..., j, i] = s
    return out


def rot_x(a: np.ndarray) -> np.ndarray:
    return _rot(0, a)


def rot_y(a: np.ndarray) -> np.ndarray:
    return _rot(1, a)


def rot_z(a: np.ndarray) -> np.ndarray:
    return _rot(2, a)


def _apply(R: np.ndarray, v) -> np.ndarray:
    """R (..., 3, 3) times vectors v (..., 3) (broadcast)."""
    return np.einsum("...ij,...j->...i", R, np.asarray(v, dtype=np.float64))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def pelvis_rotation(yaw_deg: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(T,) yaw and (T, P) angles (degrees) -> (T, 3, 3) pelvis-to-world rotation."""
    a = np.deg2rad(np.clip(angles, LIMITS[:, 0], LIMITS[:, 1]))
    return (rot_z(np.deg2rad(yaw_deg)) @ rot_y(a[:, A["pelvis_pitch"]])
            @ rot_x(a[:, A["pelvis_roll"]]))


def hip_offsets(body: Body) -> np.ndarray:
    """(2, 3) hip joints [left, right] in the pelvis frame."""
    return np.array([[0.0, body.hip, 0.0], [0.0, -body.hip, 0.0]])


# --------------------------------------------------------------------------- legs
def two_bone_ik(hip: np.ndarray, target: np.ndarray, hint: np.ndarray, l1: float,
                l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Knee and ankle (..., 3) of a leg from the hip towards an ankle target.

    The knee lies on the side of ``hint`` (a direction, e.g. forward) in the plane through hip
    and target. Unreachable targets are approached as far as the leg allows; the returned
    segments always have lengths ``l1`` and ``l2``.
    """
    v = target - hip
    d = np.linalg.norm(v, axis=-1, keepdims=True)
    u = v / np.maximum(d, 1e-9)
    dc = np.clip(d, abs(l1 - l2) + 1e-6, (l1 + l2) * (1 - 1e-9))
    w = hint - np.sum(hint * u, axis=-1, keepdims=True) * u
    w = _unit(w)
    cos_a = (l1 ** 2 + dc ** 2 - l2 ** 2) / (2 * l1 * dc)
    sin_a = np.sqrt(np.clip(1 - cos_a ** 2, 0.0, 1.0))
    knee = hip + l1 * (cos_a * u + sin_a * w)
    ankle = knee + l2 * _unit(hip + dc * u - knee)
    return knee, ankle


# --------------------------------------------------------------------------- kinematics
@dataclass
class Skeleton:
    """Forward-kinematics result: the 16 joints and what the 32-joint fill needs."""
    joints: np.ndarray        # (T, 16, 3) project joint order
    chest_rot: np.ndarray     # (T, 3, 3)
    neck_rot: np.ndarray      # (T, 3, 3)
    foot_dir: np.ndarray      # (T, 2, 3) horizontal foot direction [left, right]


def forward_kinematics(track: PoseTrack, body: Body) -> Skeleton:
    """Pose a body along a track: (T, 16, 3) world joints in the project's joint order."""
    a = np.deg2rad(np.clip(track.angles, LIMITS[:, 0], LIMITS[:, 1]))
    col = {n: a[:, i] for n, i in A.items()}
    side = np.array([1.0, -1.0])                                   # left, right
    R_yaw = rot_z(np.deg2rad(track.yaw))
    R_p = R_yaw @ rot_y(col["pelvis_pitch"]) @ rot_x(col["pelvis_roll"])
    R_w = R_p @ rot_z(col["waist_twist"]) @ rot_y(col["waist_flex"]) @ rot_x(col["waist_lat"])
    R_c = R_w @ rot_z(col["chest_twist"]) @ rot_y(col["chest_flex"]) @ rot_x(col["chest_lat"])
    R_n = R_c @ rot_z(col["neck_turn"]) @ rot_y(col["neck_flex"]) @ rot_x(col["neck_lat"])

    root = track.root
    spine = root + _apply(R_w, [0.0, 0.0, body.waist])
    thorax = spine + _apply(R_c, [0.0, 0.0, body.thorax])
    head = thorax + _apply(R_n, body.head * np.array([np.sin(_HEAD_TILT), 0.0, np.cos(_HEAD_TILT)]))

    # Arms, both sides at once: (T, 2, ...).
    arm = a[:, ARM_COLUMNS]                                        # (T, 2, 5)
    clav, flex, abd, rot, elbow = (arm[..., k] for k in range(5))
    Rc2 = R_c[:, None]
    sho_rest = np.stack([np.zeros(2), side * np.cos(_SHOULDER_DROP),
                         -np.full(2, np.sin(_SHOULDER_DROP))], axis=-1)   # (2, 3)
    shoulder = thorax[:, None] + body.shoulder * _apply(Rc2 @ rot_x(side * clav), sho_rest)
    R_ua = Rc2 @ rot_y(-flex) @ rot_x(side * abd) @ rot_z(-side * rot)
    down = np.array([0.0, 0.0, -1.0])
    elbow_j = shoulder + body.upper_arm * _apply(R_ua, down)
    wrist = elbow_j + body.forearm * _apply(R_ua @ rot_y(-elbow), down)

    # Legs by IK towards the ankle targets; knees point forward, turned out by knee_out.
    hips = root[:, None] + _apply(R_p[:, None], hip_offsets(body))
    knee_out = a[:, KNEE_OUT_COLUMNS]
    fwd = _apply(R_yaw[:, None] @ rot_z(side * knee_out), [1.0, 0.0, 0.0])    # (T, 2, 3)
    hint = fwd + np.array([0.0, 0.0, 0.3])
    knee, ankle = two_bone_ik(hips, track.feet, hint, body.thigh, body.shin)

    joints = np.stack([root, hips[:, 1], knee[:, 1], ankle[:, 1], hips[:, 0], knee[:, 0],
                       ankle[:, 0], spine, thorax, head, shoulder[:, 0], elbow_j[:, 0],
                       wrist[:, 0], shoulder[:, 1], elbow_j[:, 1], wrist[:, 1]], axis=1)
    return Skeleton(joints=joints, chest_rot=R_c, neck_rot=R_n, foot_dir=fwd)


def fill_h36m32(sk: Skeleton, body: Body) -> np.ndarray:
    """(T, 32, 3) raw-H36M layout: the 16 joints at their H36M indices; duplicates (11 = Hip,
    16 and 24 = Thorax, 20/22 and 28/30 = wrists) copied; end sites (toes, toe tips, nose,
    thumb and hand tips) placed plausibly. Only the 16 named joints are used downstream."""
    j = sk.joints
    T = j.shape[0]
    out = np.zeros((T, 32, 3))
    out[:, list(skeleton.H36M32_TO_16)] = j
    out[:, 11] = j[:, 0]
    out[:, 16] = j[:, 8]
    out[:, 24] = j[:, 8]
    up = np.array([0.0, 0.0, 1.0])
    for ankle_i, toe_i, site_i, s in ((3, 4, 5, 1), (6, 9, 10, 0)):
        ankle = j[:, ankle_i]
        drop = np.minimum(0.75 * body.ankle_height, np.maximum(ankle[:, 2] - 0.01, 0.0))
        out[:, toe_i] = ankle + _TOE_FRACTION * body.shin * sk.foot_dir[:, s] - drop[:, None] * up
        out[:, site_i] = (ankle + _SITE_FRACTION * body.shin * sk.foot_dir[:, s]
                          - drop[:, None] * up)
    face = _apply(sk.neck_rot, [1.0, 0.0, 0.0])
    neck_up = _apply(sk.neck_rot, [0.0, 0.0, 1.0])
    out[:, 14] = j[:, 8] + 0.55 * body.head * neck_up + 0.08 * face
    for elbow_i, wrist_i, dup, thumb, tip in ((11, 12, (20, 22), 21, 23),
                                              (14, 15, (28, 30), 29, 31)):
        d = _unit(j[:, wrist_i] - j[:, elbow_i])
        out[:, list(dup)] = j[:, wrist_i, None]
        out[:, tip] = j[:, wrist_i] + 0.08 * d
        out[:, thumb] = j[:, wrist_i] + 0.04 * d + 0.03 * face
    return out


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points p (..., 3) to segments a-b (..., 3)."""
    ab = b - a
    s = np.clip(np.sum((p - a) * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + s[..., None] * ab), axis=-1)


def arm_torso_clearance(joints: np.ndarray) -> np.ndarray:
    """Smallest distance (T, 2) [left, right] from elbow, wrist and forearm points to the
    torso axis (Hip-Spine-Thorax polyline). joints (T, 16, 3) project order."""
    arms = np.array([[11, 12], [14, 15]])                               # elbow, wrist per side
    elbow, wrist = joints[:, arms[:, 0]], joints[:, arms[:, 1]]         # (T, 2, 3)
    fractions = np.linspace(0.0, 1.0, 5)
    pts = elbow[:, :, None] + fractions[:, None] * (wrist - elbow)[:, :, None]   # (T, 2, 5, 3)
    axis = [joints[:, k][:, None, None] for k in (0, 7, 8)]
    d = np.minimum(_segment_distance(pts, axis[0], axis[1]),
                   _segment_distance(pts, axis[1], axis[2]))
    return d.min(-1)
