import pytest
import torch

from models.dh_tables import DEFAULT_BONE_LENGTHS, DOF_TABLE
from models.blocks import ResBlock
from models.gan_generator import OUTPUT_DIM, PoseGenerator
from utils.camera import h36m_camera_vector16, project_to_2d, world_to_camera
from utils.skeleton import bone_lengths


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _lengths(n, gen):
    base = torch.tensor(DEFAULT_BONE_LENGTHS)
    return base * (0.8 + 0.4 * torch.rand(n, 15, generator=gen))


@pytest.mark.parametrize("width, expected", [(1000, 6_170_035), (256, 436_771)])
def test_parameter_count_matches_original(width, expected):
    assert _count(PoseGenerator(width)) == expected


def test_resblock_formula():
    block = ResBlock(4)
    x = torch.randn(3, 4)
    expected = torch.relu(block.fc2(torch.relu(block.fc1(x))) + x)
    torch.testing.assert_close(block(x), expected)


def test_generated_pose_has_the_given_bone_lengths_and_root():
    gen = torch.Generator().manual_seed(0)
    g = PoseGenerator(16, generator=gen)
    z = torch.randn(6, 128, generator=gen)
    lengths = _lengths(6, gen)
    out = g(z, lengths)
    assert out.world.shape == (6, 16, 3) and out.angles.shape == (6, 33)
    torch.testing.assert_close(bone_lengths(out.world, "fk"), lengths, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.world[:, 0], out.root)
    assert out.root.abs().max() < 10


@pytest.mark.parametrize("use_pre_angle", [True, False])
def test_every_dof_stays_in_its_range_even_saturated(use_pre_angle):
    gen = torch.Generator().manual_seed(1)
    g = PoseGenerator(16, use_pre_angle=use_pre_angle, generator=gen)
    out = g(torch.randn(256, 128, generator=gen), _lengths(256, gen))
    assert out.angles.abs().max() > 0
    for row in DOF_TABLE:
        lo, hi = row.gan_range if use_pre_angle or not row.free else (-180, 180)
        assert out.angles[:, row.index].min() >= lo and out.angles[:, row.index].max() <= hi
    # saturated outputs of random sign (tanh at +-1) must still land inside, on the boundaries
    g.raw_outputs = lambda z: 1000 * z[:, :OUTPUT_DIM]
    out = g(torch.randn(256, 128, generator=gen), _lengths(256, gen))
    for row in DOF_TABLE:
        lo, hi = row.gan_range if use_pre_angle or not row.free else (-180, 180)
        a = out.angles[:, row.index]
        assert a.min() >= lo - 1e-3 and a.max() <= hi + 1e-3, (row, a.min(), a.max())
        if row.free:   # saturation reaches both ends of the range
            assert a.min() < lo + 1 and a.max() > hi - 1, row
    assert out.global_rot.abs().max() <= 180 + 1e-3
    assert (out.global_rot.abs() > 170).any()


def test_without_rt_the_pelvis_is_not_rotated():
    gen = torch.Generator().manual_seed(2)
    g = PoseGenerator(16, use_rt=False, generator=gen)
    out = g(torch.randn(8, 128, generator=gen), _lengths(8, gen))
    assert out.global_rot.abs().max() == 0
    hip = out.world[:, 1] - out.world[:, 0]            # right hip along +x of the world
    torch.testing.assert_close(hip[:, 1:], torch.zeros(8, 2), rtol=0, atol=1e-6)
    assert (hip[:, 0] > 0).all()


def test_every_layer_gets_gradient_through_fk_and_projection():
    gen = torch.Generator().manual_seed(3)
    g = PoseGenerator(16, generator=gen)
    cam = torch.from_numpy(h36m_camera_vector16("S1", 0))
    world = g(torch.randn(16, 128, generator=gen), _lengths(16, gen)).world
    pose2d = project_to_2d(world_to_camera(world, cam[9:13], cam[13:16]), cam)
    (pose2d * torch.randn(pose2d.shape, generator=gen)).sum().backward()
    for name, p in g.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().max() > 0, name
    # output 31 is computed but never used (docs/dh_model.md#angle-layout): its row alone gets
    # no gradient
    per_output = g.out.weight.grad.abs().sum(1)
    assert per_output.shape == (OUTPUT_DIM,) and per_output[31] == 0
    assert (per_output[torch.arange(OUTPUT_DIM) != 31] > 0).all()
