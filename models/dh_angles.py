"""Angle layout of DH-AUG: generator outputs -> DH angles, and the 'normal' sampler
(docs/dh_model.md#angle-layout, docs/dh_model.md#normal-sampling).

The 37-wide slot vector holds the 34 link-angle table entries (``joint1..joint34``) and the
global rotation (slots 34-36).  Link angles use the *intended* arm mapping (a team decision):
RArm = slots 24-28, LArm = slots 29-33, slot 23 unused.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from models import dh_tables as T
from models.dh_tables import DOF_TABLE  # also re-exported: the DOF table as data

NUM_OUTPUTS = 35          # per-pose generator outputs
NUM_ANGLE_OUTPUTS = 31    # o[0:31] fill the free slots; o[31] is unused; o[32:35] = root
ROOT_SCALE = 10.0         # root = 10 * tanh(o[32:35]) metres
NORMAL_SIGMA = 60.0       # degrees, 'normal' mode


def _slot_ranges(kind: str) -> list[tuple[float, float]]:
    """(min, max) of every slot 0..36 in degrees; fixed and unused slots give (0, 0)."""
    ranges = [(0.0, 0.0)] * T.NUM_SLOTS
    for row in DOF_TABLE:
        ranges[row.slot] = row.gan_range if kind == "gan" else row.normal_range
    glob = T.GLOBAL_GAN_RANGE if kind == "gan" else T.GLOBAL_NORMAL_RANGE
    for s, r in zip(T.GLOBAL_SLOTS, glob):
        ranges[s] = r
    return ranges


@functools.lru_cache(maxsize=None)
def _fill_constants(device: torch.device, dtype: torch.dtype):
    """Per free slot: half-width and centre of its GAN range (31,), a 0/1 mask of the
    global-rotation slots (31,), and the slot -> free-value gather index (37,) where fixed
    slots point at an appended zero (index 31)."""
    ranges = _slot_ranges("gan")
    half = torch.tensor([(ranges[s][1] - ranges[s][0]) / 2 for s in T.FREE_SLOTS], dtype=dtype)
    mid = torch.tensor([(ranges[s][1] + ranges[s][0]) / 2 for s in T.FREE_SLOTS], dtype=dtype)
    is_global = torch.tensor([float(s in T.GLOBAL_SLOTS) for s in T.FREE_SLOTS], dtype=dtype)
    gather = torch.tensor([T.FREE_SLOTS.index(s) if s in T.FREE_SLOTS else len(T.FREE_SLOTS)
                           for s in range(T.NUM_SLOTS)])
    angle_slots = torch.tensor(T.ANGLE_SLOTS)
    return tuple(x.to(device) for x in (half, mid, is_global, gather, angle_slots))


def outputs_to_dh(o: torch.Tensor, use_pre_angle: bool = True, use_rt: bool = True
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Raw generator outputs (..., 35) -> (angles (..., 33), global_rot (..., 3), root (..., 3),
    slots (..., 37)).

    ``o[0:31]`` go through tanh and fill the free slots in ascending order
    (docs/dh_model.md#angle-layout); each is mapped onto its GAN range,
    ``t·(max-min)/2 + (max+min)/2`` (global rotation: ±180), or with ``use_pre_angle=False`` to
    ``t·180``.  Fixed slots are 0, ``o[31]`` is unused,
    ``root = 10·tanh(o[32:35])`` metres.  ``use_rt=False`` zeroes the global rotation (also in
    ``slots``).  Angles are in degrees, in the chain order of ``forward_kinematics``.
    """
    if not isinstance(o, torch.Tensor) or o.ndim < 1 or o.shape[-1] != NUM_OUTPUTS:
        raise ValueError(f"outputs_to_dh: expected a tensor (..., {NUM_OUTPUTS}); got "
                         f"{tuple(o.shape) if isinstance(o, torch.Tensor) else type(o).__name__}")
    half, mid, is_global, gather, angle_slots = _fill_constants(o.device, o.dtype)
    t = torch.tanh(o[..., :NUM_ANGLE_OUTPUTS])
    free = t * half + mid if use_pre_angle else t * 180.0
    if not use_rt:
        free = free * (1 - is_global)
    slots = torch.cat([free, free.new_zeros(free.shape[:-1] + (1,))], -1).index_select(-1, gather)
    root = ROOT_SCALE * torch.tanh(o[..., NUM_ANGLE_OUTPUTS + 1:])
    angles = slots.index_select(-1, angle_slots)
    return angles, slots[..., T.GLOBAL_SLOTS[0]:], root, slots


# --------------------------------------------------------------------------- 'normal' mode
class _Draws:
    """The three kinds of draws the sampler needs, from a numpy or a torch generator,
    returned as float64 CPU tensors (torch draws stay on the generator's device)."""

    def __init__(self, rng):
        if not isinstance(rng, (np.random.Generator, torch.Generator)):
            raise TypeError(f"rng must be a numpy.random.Generator or torch.Generator; got {type(rng)}")
        self.rng = rng

    def integers(self, high: int, size: tuple) -> torch.Tensor:
        if isinstance(self.rng, np.random.Generator):
            return torch.from_numpy(self.rng.integers(0, high, size=size))
        return torch.randint(0, high, size, generator=self.rng, device=self.rng.device)

    def uniform(self, size: tuple) -> torch.Tensor:
        if isinstance(self.rng, np.random.Generator):
            return torch.from_numpy(self.rng.random(size))
        return torch.rand(size, generator=self.rng, device=self.rng.device, dtype=torch.float64)

    def normal(self, size: tuple) -> torch.Tensor:
        if isinstance(self.rng, np.random.Generator):
            return torch.from_numpy(self.rng.standard_normal(size))
        return torch.randn(size, generator=self.rng, device=self.rng.device, dtype=torch.float64)


def _clipped_normal(draws: _Draws, ranges: list[tuple[float, float]], n: int) -> torch.Tensor:
    """(n, len(ranges)) draws of N((min+max)/2, 60) clipped to [min, max]."""
    r = torch.tensor(ranges, dtype=torch.float64)
    z = draws.normal((n, len(ranges)))
    r = r.to(z.device)
    return torch.minimum(torch.maximum(z * NORMAL_SIGMA + r.mean(-1), r[:, 0]), r[:, 1])


def sample_normal_dh(n: int, rng, global_rot: bool = True, dtype: torch.dtype = torch.float32,
                     device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """'normal' mode angles (docs/dh_model.md#normal-sampling steps 1-3), vectorised:
    -> (angles (n, 33), global_rot (n, 3)).

    Per sample: m ~ U{0..33} table entries (of joint1..joint34) are chosen at random without
    replacement; a chosen entry is N((min+max)/2, 60°) clipped to its normal-mode range, others
    are 0; entry joint24 (slot 23) is skipped, so the 33 kept entries are the link angles in
    chain order.  Global rotation: each axis N(0, 60°) clipped to (±20, ±20, ±180), or zeros
    if ``global_rot`` is False.  Sample 0 is the rest pose (all zeros).  ``rng`` is a
    ``numpy.random.Generator`` or ``torch.Generator``; the result goes to ``device``
    (default: the generator's device, CPU for numpy).
    """
    if n < 1:
        raise ValueError(f"sample_normal_dh: n must be >= 1, got {n}")
    draws = _Draws(rng)
    entries = T.NUM_TABLE_ENTRIES
    ranges = _slot_ranges("normal")
    m = draws.integers(entries, (n,))
    # A uniformly random subset of size m: the m entries with the smallest random keys.
    rank = draws.uniform((n, entries)).argsort(-1).argsort(-1)
    chosen = rank < m.unsqueeze(-1).to(rank.device)
    values = torch.where(chosen, _clipped_normal(draws, ranges[:entries], n), 0.0)
    keep = torch.tensor(T.ANGLE_SLOTS, device=values.device)
    angles = values.index_select(-1, keep)
    glob = _clipped_normal(draws, [ranges[s] for s in T.GLOBAL_SLOTS], n)
    if not global_rot:
        glob = torch.zeros_like(glob)
    angles[0] = 0.0
    glob[0] = 0.0
    device = angles.device if device is None else device
    return angles.to(device=device, dtype=dtype), glob.to(device=device, dtype=dtype)
