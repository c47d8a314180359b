"""Per-group random bone-length scaling (docs/dh_model.md#bone-scaling).

Eight scale groups shared by left and right (shins, thighs, hips, waist, shoulders, upper arms,
forearms, neck/head); the thorax (Spine -> Thorax) is never scaled.  Bone lengths themselves
come from ``utils.skeleton.bone_lengths`` (FK or template order).
"""
from __future__ import annotations

import functools

import torch

from utils import skeleton

SCALE_MODES = ("different", "same", "")
_RANGE = (-200, 200)   # randint(-200, 200) / 1000: -0.2 .. 0.199
_DENOM = 1000.0


def sample_scale_factors(batch_shape: tuple | torch.Size, mode: str, generator: torch.Generator,
                         device: torch.device | str | None = None,
                         dtype: torch.dtype | None = None) -> torch.Tensor:
    """Scale factors (*batch_shape, 8), one per group, for ``--bone_len_scaler`` ``mode``.

    'different': 8 independent values randint(-200, 200)/1000 per sample; 'same': one such
    value repeated over the 8 groups; '': zeros.  Drawn on the generator's device, then moved
    to ``device`` (default: the generator's) as ``dtype`` (default: the default float dtype).
    """
    if mode not in SCALE_MODES:
        raise ValueError(f"bone scaling mode must be one of {SCALE_MODES}, got {mode!r}")
    shape = tuple(batch_shape)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    device = generator.device if device is None else torch.device(device)
    groups = skeleton.NUM_SCALE_GROUPS
    if mode == "":
        return torch.zeros(shape + (groups,), dtype=dtype, device=device)
    width = groups if mode == "different" else 1
    draws = torch.randint(*_RANGE, shape + (width,), generator=generator, device=generator.device)
    factors = draws.to(device=device, dtype=dtype) / _DENOM
    return factors.expand(shape + (groups,)).contiguous()


@functools.lru_cache(maxsize=None)
def _group_index(device: torch.device) -> torch.Tensor:
    """FK bone -> column of [factors, 0]; the thorax (group -1) reads the appended zero."""
    groups = [g if g >= 0 else skeleton.NUM_SCALE_GROUPS for g in skeleton.FK_SCALE_GROUPS]
    return torch.tensor(groups, device=device)


def scale_bone_lengths(lengths_fk: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """``length · (1 + factor[group])`` for FK-order lengths (..., 15) and factors (..., 8);
    leading shapes broadcast; the thorax is left as it is."""
    if lengths_fk.shape[-1] != skeleton.NUM_BONES or factors.shape[-1] != skeleton.NUM_SCALE_GROUPS:
        raise ValueError(f"scale_bone_lengths: expected (..., {skeleton.NUM_BONES}) lengths and "
                         f"(..., {skeleton.NUM_SCALE_GROUPS}) factors; got {tuple(lengths_fk.shape)} "
                         f"and {tuple(factors.shape)}")
    padded = torch.cat([factors, factors.new_zeros(factors.shape[:-1] + (1,))], -1)
    return lengths_fk * (1 + padded.index_select(-1, _group_index(factors.device)))
