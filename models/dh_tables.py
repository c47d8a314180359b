"""The DH human model as data: five modified-DH chains, the link transform, which bone length
fills which DH parameter, which frame gives which joint, and the DOF table
(docs/dh_model.md#dh-tables).

Conventions: angles in degrees, lengths in metres, local frame z up, +x = subject's right,
+y = facing.  The 33-wide angle vector is in chain order
``[RLeg 0-4, LLeg 0-4, Body 0-12, RArm 0-4, LArm 0-4]`` and is *added* to the theta offsets.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from utils import skeleton


class Chain(NamedTuple):
    """One modified-DH chain.

    ``base`` is ``None`` for chains that start at the pelvis frame (after the global rotation),
    or ``(chain index, link)`` for chains appended to another chain's cumulative frame.
    ``bones`` lists ``(link, 'a' | 'd', FK bone index, sign)``: the DH parameter of that link is
    ``sign * bone_length`` (docs/dh_model.md#dh-tables).  ``a_default``/``d_default`` are the
    rest-pose demo values.
    """
    name: str
    alpha: tuple
    a_default: tuple
    d_default: tuple
    theta0: tuple
    base: tuple | None
    bones: tuple


CHAINS: tuple[Chain, ...] = (
    Chain("RLeg", (0, -90, -90, 0, 0), (0.25, 0, 0, 0.6, 0.5), (0,) * 5, (0, -90, 180, 0, 0),
          None, ((0, "a", 5, +1), (3, "a", 3, +1), (4, "a", 1, +1))),
    Chain("LLeg", (0, 90, 90, 0, 0), (-0.25, 0, 0, 0.6, 0.5), (0,) * 5, (180, -90, 0, 0, 0),
          None, ((0, "a", 4, -1), (3, "a", 2, +1), (4, "a", 0, +1))),
    Chain("Body", (0,) + (-90,) * 11 + (90,), (0,) * 12 + (0.15,),
          (0, 0, 0, 0.25, 0, 0, 0.2, 0, 0, 0, 0, 0, 0), (90,) + (-90,) * 10 + (0, 0),
          None, ((3, "d", 6, +1), (6, "d", 7, +1), (12, "a", 14, +1))),
    Chain("RArm", (-90, -90, -90, 0, 0), (-0.3, 0, 0, 0.4, 0.35), (0,) * 5, (-180, -90, 180, 0, 0),
          (2, 8), ((0, "a", 9, -1), (3, "a", 11, +1), (4, "a", 13, +1))),
    Chain("LArm", (-90, 90, 90, 0, 0), (0.3, 0, 0, 0.4, 0.35), (0,) * 5, (0, -90, 0, 0, 0),
          (2, 8), ((0, "a", 8, +1), (3, "a", 10, +1), (4, "a", 12, +1))),
)
CHAIN_NAMES = tuple(c.name for c in CHAINS)
NUM_ANGLES = sum(len(c.alpha) for c in CHAINS)  # 33
# First index of each chain in the 33-wide angle vector.
CHAIN_OFFSETS = tuple(sum(len(c.alpha) for c in CHAINS[:i]) for i in range(len(CHAINS)))
THETA0 = tuple(t for c in CHAINS for t in c.theta0)

# Joint -> (chain index, link) whose cumulative frame's translation is that joint
# (docs/dh_model.md#dh-tables).
# For the arms the link index counts inside the arm chain (arm frame k = full frame 9 + k).
# Joint 0 (Hip) is the origin of the pelvis frame.
JOINT_FRAMES: dict[int, tuple[int, int]] = {
    1: (0, 0), 2: (0, 3), 3: (0, 4),
    4: (1, 0), 5: (1, 3), 6: (1, 4),
    7: (2, 3), 8: (2, 6), 9: (2, 12),
    13: (3, 0), 14: (3, 3), 15: (3, 4),
    10: (4, 0), 11: (4, 3), 12: (4, 4),
}

# Rest-pose demo lengths in FK bone order (hips 0.25, thighs 0.6, shins 0.5, waist 0.25,
# thorax 0.2, shoulders 0.3, upper arms 0.4, forearms 0.35, neck/head 0.15).
DEFAULT_BONE_LENGTHS = (0.5, 0.5, 0.6, 0.6, 0.25, 0.25, 0.25, 0.2, 0.3, 0.3, 0.4, 0.4, 0.35,
                        0.35, 0.15)


def _check_tables() -> None:
    """Import-time consistency checks: every FK bone fills exactly one DH parameter, and the
    defaults agree with DEFAULT_BONE_LENGTHS."""
    seen = sorted(b for c in CHAINS for _, _, b, _ in c.bones)
    assert seen == list(range(skeleton.NUM_BONES)), seen
    for c in CHAINS:
        for link, kind, b, sign in c.bones:
            default = (c.a_default if kind == "a" else c.d_default)[link]
            assert math.isclose(default, sign * DEFAULT_BONE_LENGTHS[b]), (c.name, link)
        assert all(a in (0, 90, -90) for a in c.alpha), c.name


_check_tables()


def link_transform(alpha: torch.Tensor, a: torch.Tensor, d: torch.Tensor,
                   theta: torch.Tensor) -> torch.Tensor:
    """Modified (Craig) DH link transform RotX(alpha)·TransX(a)·RotZ(theta)·TransZ(d).

    All inputs broadcast together (degrees, metres); returns (..., 4, 4).
    """
    alpha, a, d, theta = torch.broadcast_tensors(alpha, a, d, theta)
    ca, sa = torch.cos(torch.deg2rad(alpha)), torch.sin(torch.deg2rad(alpha))
    ct, st = torch.cos(torch.deg2rad(theta)), torch.sin(torch.deg2rad(theta))
    zero, one = torch.zeros_like(ct), torch.ones_like(ct)
    rows = (
        (ct, -st, zero, a),
        (st * ca, ct * ca, -sa, -sa * d),
        (st * sa, ct * sa, ca, ca * d),
        (zero, zero, zero, one),
    )
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def dh_parameters(bone_lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per chain, the (a, d) parameter rows (..., links) filled from FK-order bone lengths (..., 15)."""
    out = []
    for c in CHAINS:
        a = [bone_lengths.new_zeros(bone_lengths.shape[:-1]) for _ in c.alpha]
        d = [bone_lengths.new_zeros(bone_lengths.shape[:-1]) for _ in c.alpha]
        for link, kind, b, sign in c.bones:
            (a if kind == "a" else d)[link] = sign * bone_lengths[..., b]
        out.append((torch.stack(a, -1), torch.stack(d, -1)))
    return out


# --------------------------------------------------------------------------- DOF table
class DofRow(NamedTuple):
    """One link's degree of freedom.  ``index`` = position in the 33-wide angle vector,
    ``slot`` = column of the 37-wide generator slot vector (intended arm mapping,
    docs/dh_model.md#angle-layout),
    ranges in degrees, ``free`` = driven by a generator output in GAN mode."""
    index: int
    chain: str
    link: int
    slot: int
    gan_range: tuple
    normal_range: tuple
    free: bool
    role: str


_LEG_ROLES = ("thigh twist", "hip ab/adduction", "hip flexion", "knee", "no effect")
_ARM_ROLES = ("upper-arm twist", "shoulder ab/adduction", "shoulder flexion", "elbow", "no effect")
_BODY_ROLES = ("pelvis", "pelvis", "pelvis", "spine", "spine", "spine", "thorax", "thorax",
               "thorax", "neck", "neck", "neck", "no effect")

_RANGES = {  # chain -> (GAN ranges, normal ranges), one per link
    "RLeg": (((-110, 65), (-110, 65), (-110, 180), (-180, 0), (0, 0)),
             ((-90, 45), (-90, 45), (-45, 120), (-135, 0), (0, 0))),
    "LLeg": (((-65, 110), (-65, 110), (-110, 180), (-180, 0), (0, 0)),
             ((-45, 90), (-45, 90), (-45, 120), (-135, 0), (0, 0))),
    "Body": (((-180, 180),) * 12 + ((0, 0),),
             ((-25, 25), (-10, 90), (-20, 20), (-20, 20), (-10, 45), (-25, 25), (-20, 20), (0, 0),
              (-20, 20), (-90, 90), (-20, 90), (-45, 45), (0, 0))),
    "RArm": (((-155, 65), (-155, 65), (-100, 180), (0, 180), (0, 0)),
             ((-135, 45), (-135, 45), (-45, 180), (0, 135), (0, 0))),
    "LArm": (((-65, 155), (-65, 155), (-100, 180), (0, 180), (0, 0)),
             ((-45, 135), (-45, 135), (-45, 180), (0, 135), (0, 0))),
}
_FIRST_SLOT = {"RLeg": 0, "LLeg": 5, "Body": 10, "RArm": 24, "LArm": 29}


def _build_dof_table() -> tuple[DofRow, ...]:
    rows = []
    for ci, c in enumerate(CHAINS):
        roles = {"RLeg": _LEG_ROLES, "LLeg": _LEG_ROLES, "Body": _BODY_ROLES}.get(c.name, _ARM_ROLES)
        gan, normal = _RANGES[c.name]
        for k in range(len(c.alpha)):
            rows.append(DofRow(CHAIN_OFFSETS[ci] + k, c.name, k, _FIRST_SLOT[c.name] + k,
                               gan[k], normal[k], gan[k] != (0, 0), roles[k]))
    return tuple(rows)


DOF_TABLE: tuple[DofRow, ...] = _build_dof_table()
NUM_SLOTS = 37
NUM_TABLE_ENTRIES = 34   # link-angle table entries joint1..joint34 = slots 0..33
# Slots with no generator output (docs/dh_model.md#angle-layout); slot 23 is unused by the
# intended mapping.
FIXED_SLOTS = (4, 9, 22, 23, 28, 33)
FREE_SLOTS = tuple(s for s in range(NUM_SLOTS) if s not in FIXED_SLOTS)  # 31, filled from o[0:31]
UNUSED_SLOT = 23
GLOBAL_SLOTS = (34, 35, 36)
GLOBAL_GAN_RANGE = ((-180, 180),) * 3
GLOBAL_NORMAL_RANGE = ((-20, 20), (-20, 20), (-180, 180))
# Slot of each of the 33 link angles (intended mapping).
ANGLE_SLOTS = tuple(r.slot for r in DOF_TABLE)

assert len(DOF_TABLE) == NUM_ANGLES and ANGLE_SLOTS == tuple(range(23)) + tuple(range(24, 34))
assert set(FREE_SLOTS) == {r.slot for r in DOF_TABLE if r.free} | set(GLOBAL_SLOTS)
