"""Per-group bone-length scale factors and their application."""
from __future__ import annotations

import pytest
import torch

from models import bone_scaling as S
from utils import skeleton


def test_different_factors_range_and_grid():
    f = S.sample_scale_factors((4000,), "different", torch.Generator().manual_seed(0))
    assert f.shape == (4000, 8) and f.dtype == torch.get_default_dtype()
    assert f.min() == pytest.approx(-0.2) and f.max() == pytest.approx(0.199)
    assert torch.allclose(f * 1000, (f * 1000).round(), atol=1e-3)
    assert (f[:, 0] != f[:, 1]).any()                      # independent per group


def test_same_and_empty_modes():
    f = S.sample_scale_factors((2, 3), "same", torch.Generator().manual_seed(1), dtype=torch.float64)
    assert f.shape == (2, 3, 8) and f.dtype == torch.float64
    assert (f == f[..., :1]).all() and (f[..., 0] != 0).any()
    assert (S.sample_scale_factors((5,), "", torch.Generator()) == 0).all()


def test_draws_are_reproducible_and_mode_checked():
    a = S.sample_scale_factors((10,), "different", torch.Generator().manual_seed(2))
    b = S.sample_scale_factors((10,), "different", torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="bone scaling mode"):
        S.sample_scale_factors((1,), "random", torch.Generator())


def test_scaling_by_hand():
    lengths = torch.arange(1.0, 16.0, dtype=torch.float64)   # FK bone b has length b + 1
    factors = torch.tensor([0.1, -0.1, 0.2, 0.0, 0.05, -0.2, 0.15, 0.1], dtype=torch.float64)
    # groups per FK bone: shins 0, thighs 1, hips 2, waist 3, thorax -, shoulders 4,
    # upper arms 5, forearms 6, neck/head 7
    expected = torch.tensor([1 * 1.1, 2 * 1.1, 3 * 0.9, 4 * 0.9, 5 * 1.2, 6 * 1.2, 7 * 1.0, 8.0,
                             9 * 1.05, 10 * 1.05, 11 * 0.8, 12 * 0.8, 13 * 1.15, 14 * 1.15,
                             15 * 1.1], dtype=torch.float64)
    torch.testing.assert_close(S.scale_bone_lengths(lengths, factors), expected)


def test_thorax_never_scaled_and_left_right_shared():
    g = torch.Generator().manual_seed(3)
    lengths = torch.rand(6, 15, generator=g) + 0.1
    factors = S.sample_scale_factors((6,), "different", g)
    out = S.scale_bone_lengths(lengths, factors)
    thorax = skeleton.FK_SCALE_GROUPS.index(-1)
    torch.testing.assert_close(out[:, thorax], lengths[:, thorax])
    ratio = out / lengths
    torch.testing.assert_close(ratio[:, 0], ratio[:, 1])   # left and right shin
    torch.testing.assert_close(ratio[:, 8], ratio[:, 9])   # left and right shoulder
    shared = S.scale_bone_lengths(lengths[0], factors)      # broadcast one skeleton
    assert shared.shape == (6, 15)
    with pytest.raises(ValueError):
        S.scale_bone_lengths(lengths, factors[:, :7])
