"""Generator outputs -> DH angles (intended arm layout), and the 'normal' mode sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models import dh_angles as A
from models import dh_tables as T

F64 = torch.float64
FREE = [r for r in A.DOF_TABLE if r.free]
FIXED = [r for r in A.DOF_TABLE if not r.free]


def test_dof_table_is_reexported():
    assert A.DOF_TABLE is T.DOF_TABLE and len(A.DOF_TABLE) == 33


def test_every_free_dof_inside_its_gan_range_and_fixed_ones_zero():
    o = torch.randn(500, 35, dtype=F64, generator=torch.Generator().manual_seed(0)) * 4
    angles, glob, root, slots = A.outputs_to_dh(o)
    assert angles.shape == (500, 33) and glob.shape == (500, 3) and slots.shape == (500, 37)
    for r in FREE:
        v = angles[:, r.index]
        assert v.min() >= r.gan_range[0] and v.max() <= r.gan_range[1], r
        assert v.max() - v.min() > 0.9 * (r.gan_range[1] - r.gan_range[0]), r   # range is used
    for r in FIXED:
        assert (angles[:, r.index] == 0).all(), r
    assert (slots[:, list(T.FIXED_SLOTS)] == 0).all()
    assert glob.abs().max() <= 180 and root.abs().max() < 10


def test_fill_order_scaling_and_intended_arm_mapping():
    o = torch.zeros(35, dtype=F64)
    angles, glob, root, slots = A.outputs_to_dh(o)
    # tanh(0) = 0 -> every free slot sits at the centre of its range.
    centre = torch.tensor([(r.gan_range[0] + r.gan_range[1]) / 2 for r in A.DOF_TABLE], dtype=F64)
    torch.testing.assert_close(angles, centre)
    assert (glob == 0).all() and (root == 0).all()

    o = torch.zeros(35, dtype=F64)
    o[20] = 50.0          # 21st output -> slot 24 -> right upper-arm twist (RArm 0), max 65
    o[24] = -50.0         # 25th output -> slot 29 -> LArm 0, min -65
    o[27] = 50.0          # 28th output -> slot 32 -> left elbow, max 180
    o[28] = 0.5           # 29th output -> slot 34 -> global x = 180 tanh(0.5)
    o[32:35] = torch.tensor([0.1, -0.2, 50.0], dtype=F64)
    angles, glob, root, slots = A.outputs_to_dh(o)
    assert angles[T.CHAIN_OFFSETS[3]] == pytest.approx(65.0)
    assert angles[T.CHAIN_OFFSETS[4]] == pytest.approx(-65.0)
    assert angles[T.CHAIN_OFFSETS[4] + 3] == pytest.approx(180.0)
    assert slots[23] == 0 and slots[24] == pytest.approx(65.0)
    assert glob[0] == pytest.approx(180 * np.tanh(0.5))
    torch.testing.assert_close(root, 10 * torch.tanh(o[32:35]))


def test_output_31_is_unused():
    o = torch.randn(4, 35, dtype=F64, generator=torch.Generator().manual_seed(1))
    o2 = o.clone()
    o2[:, 31] += 5
    for a, b in zip(A.outputs_to_dh(o), A.outputs_to_dh(o2)):
        torch.testing.assert_close(a, b)


def test_without_pre_angle_and_without_rotation():
    o = torch.randn(3, 35, dtype=F64, generator=torch.Generator().manual_seed(2))
    angles, glob, _, slots = A.outputs_to_dh(o, use_pre_angle=False)
    t = torch.tanh(o[:, :31]) * 180
    torch.testing.assert_close(slots[:, list(T.FREE_SLOTS)], t)
    assert (angles[:, [r.index for r in FIXED]] == 0).all()
    _, glob0, _, slots0 = A.outputs_to_dh(o, use_rt=False)
    assert (glob0 == 0).all() and (slots0[:, 34:] == 0).all()


def test_mapping_is_differentiable_and_keeps_shape():
    o = torch.randn(2, 3, 35, dtype=F64, requires_grad=True)
    angles, glob, root, _ = A.outputs_to_dh(o)
    assert angles.shape == (2, 3, 33)
    (angles.sum() + glob.sum() + root.sum()).backward()
    assert o.grad[..., 31].abs().max() == 0 and o.grad[..., :31].abs().min() > 0
    with pytest.raises(ValueError):
        A.outputs_to_dh(torch.zeros(34))


@pytest.mark.parametrize("make_rng", [lambda: np.random.default_rng(0),
                                      lambda: torch.Generator().manual_seed(0)])
def test_normal_sampler(make_rng):
    angles, glob = A.sample_normal_dh(2000, make_rng())
    assert angles.shape == (2000, 33) and glob.shape == (2000, 3) and angles.dtype == torch.float32
    assert (angles[0] == 0).all() and (glob[0] == 0).all()           # sample 0 = rest pose
    for r in A.DOF_TABLE:
        v = angles[:, r.index]
        assert v.min() >= r.normal_range[0] and v.max() <= r.normal_range[1], r
        if r.normal_range != (0, 0):
            share = (v != 0).float().mean().item()
            assert 0.35 < share < 0.65, (r, share)     # chosen with probability ~ 1/2
    for k, (lo, hi) in enumerate(T.GLOBAL_NORMAL_RANGE):
        assert glob[1:, k].min() >= lo and glob[1:, k].max() <= hi
        assert (glob[1:, k] != 0).all()
    # Clipping at the range ends happens (sigma 60 is wide): e.g. global x hits +-20 often.
    assert (glob[:, 0].abs() == 20).float().mean() > 0.5
    a2, _ = A.sample_normal_dh(2000, make_rng())
    torch.testing.assert_close(a2, angles)                               # reproducible


def test_normal_sampler_without_global_rotation():
    _, glob = A.sample_normal_dh(10, np.random.default_rng(1), global_rot=False, dtype=F64)
    assert glob.dtype == F64 and (glob == 0).all()
    with pytest.raises(TypeError):
        A.sample_normal_dh(3, 123)
