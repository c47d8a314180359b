"""The DH tables as data: link transform, bone -> parameter mapping, DOF table."""
from __future__ import annotations

import math

import torch

from models import dh_tables as T
from utils import skeleton


def test_link_transform_matches_the_modified_dh_matrix():
    # alpha = -90, a = 0.3, d = 0.2, theta = 30 degrees, written out from
    # docs/dh_model.md#link-transform.
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    ca, sa = 0.0, -1.0
    expected = torch.tensor([
        [c, -s, 0, 0.3],
        [s * ca, c * ca, -sa, -sa * 0.2],
        [s * sa, c * sa, ca, ca * 0.2],
        [0, 0, 0, 1]], dtype=torch.float64)
    got = T.link_transform(*(torch.tensor(v, dtype=torch.float64) for v in (-90.0, 0.3, 0.2, 30.0)))
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_link_transform_is_rotx_transx_rotz_transz():
    g = torch.Generator().manual_seed(0)
    alpha, a, d, theta = (torch.rand(5, generator=g, dtype=torch.float64) * 200 - 100 for _ in range(4))

    def rot(axis, deg):
        m = torch.eye(4, dtype=torch.float64).repeat(5, 1, 1)
        c, s = torch.cos(torch.deg2rad(deg)), torch.sin(torch.deg2rad(deg))
        i, j = (1, 2) if axis == "x" else (0, 1)
        m[:, i, i], m[:, i, j], m[:, j, i], m[:, j, j] = c, -s, s, c
        return m

    def trans(axis, v):
        m = torch.eye(4, dtype=torch.float64).repeat(5, 1, 1)
        m[:, "xyz".index(axis), 3] = v
        return m

    expected = rot("x", alpha) @ trans("x", a) @ rot("z", theta) @ trans("z", d)
    torch.testing.assert_close(T.link_transform(alpha, a, d, theta), expected)


def test_chains_have_the_documented_shapes():
    assert T.CHAIN_NAMES == ("RLeg", "LLeg", "Body", "RArm", "LArm")
    assert [len(c.alpha) for c in T.CHAINS] == [5, 5, 13, 5, 5]
    assert T.NUM_ANGLES == 33 and T.CHAIN_OFFSETS == (0, 5, 10, 23, 28)
    assert T.CHAINS[3].base == T.CHAINS[4].base == (2, 8)   # arms hang off body link 8


def test_every_bone_fills_one_parameter_with_the_documented_sign():
    params = T.dh_parameters(torch.arange(1.0, 16.0))   # bone b has length b + 1
    rleg_a, _ = params[0]
    lleg_a, _ = params[1]
    body_a, body_d = params[2]
    rarm_a, _ = params[3]
    larm_a, _ = params[4]
    # docs/dh_model.md#dh-tables with FK bone indices: b5 right hip, b4 left hip,
    # b9 right shoulder, ...
    assert rleg_a.tolist() == [6, 0, 0, 4, 2]
    assert lleg_a.tolist() == [-5, 0, 0, 3, 1]
    assert body_d.tolist() == [0, 0, 0, 7, 0, 0, 8, 0, 0, 0, 0, 0, 0]
    assert body_a.tolist() == [0] * 12 + [15]
    assert rarm_a.tolist() == [-10, 0, 0, 12, 14]
    assert larm_a.tolist() == [9, 0, 0, 11, 13]


def test_dof_table_rows_and_intended_slots():
    rows = T.DOF_TABLE
    assert len(rows) == 33 and [r.index for r in rows] == list(range(33))
    assert [r.slot for r in rows] == list(range(23)) + list(range(24, 34))   # slot 23 unused
    fixed = [(r.chain, r.link) for r in rows if not r.free]
    assert fixed == [("RLeg", 4), ("LLeg", 4), ("Body", 12), ("RArm", 4), ("LArm", 4)]
    assert all(r.gan_range == (0, 0) and r.normal_range == (0, 0) for r in rows if not r.free)
    by_slot = {r.slot: r for r in rows}
    # The intended arm layout: slot 24 = right upper-arm twist, slot 27 = right elbow.
    assert (by_slot[24].chain, by_slot[24].link, by_slot[24].gan_range) == ("RArm", 0, (-155, 65))
    assert (by_slot[27].chain, by_slot[27].link, by_slot[27].gan_range) == ("RArm", 3, (0, 180))
    assert (by_slot[32].chain, by_slot[32].link, by_slot[32].normal_range) == ("LArm", 3, (0, 135))
    assert by_slot[17].normal_range == (0, 0) and by_slot[17].free   # Body 7: GAN-free, normal-fixed
    assert len(T.FREE_SLOTS) == 31 and 23 in T.FIXED_SLOTS


def test_ranges_are_ordered_and_normal_mostly_inside_gan():
    for r in T.DOF_TABLE:
        assert r.gan_range[0] <= r.gan_range[1] and r.normal_range[0] <= r.normal_range[1], r
    # The normal-mode ranges are the narrower, anatomical ones.
    assert all(r.gan_range[0] <= r.normal_range[0] and r.normal_range[1] <= r.gan_range[1]
               for r in T.DOF_TABLE)


def test_default_lengths_match_the_rest_pose_demo():
    names = dict(zip(skeleton.FK_BONE_NAMES, T.DEFAULT_BONE_LENGTHS))
    assert names["right thigh"] == 0.6 and names["left shin"] == 0.5 and names["neck/head"] == 0.15
    assert names["left shoulder"] == 0.3 and names["thorax"] == 0.2
