import pytest
import torch

from models.dh_tables import DEFAULT_BONE_LENGTHS, DOF_TABLE
from models.gan_generator import OUTPUT_DIM, PoseGenerator
from models.gan_video_generator import VideoPoseGenerator
from utils.camera import h36m_camera_vector16, world_to_screen
from utils.skeleton import bone_lengths


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _lengths(n, gen):
    return torch.tensor(DEFAULT_BONE_LENGTHS) * (0.8 + 0.4 * torch.rand(n, 15, generator=gen))


@pytest.mark.parametrize("frames, expected", [(9, 6_450_315), (27, 7_080_945)])
def test_parameter_count_matches_original(frames, expected):
    with torch.device("meta"):
        assert _count(VideoPoseGenerator(1000, frames)) == expected


def test_trunk_is_the_single_frame_generator_with_a_wider_output():
    g = VideoPoseGenerator(16, 9, generator=torch.Generator().manual_seed(0))
    single = PoseGenerator(16, generator=torch.Generator().manual_seed(0))
    assert g.out.weight.shape == (9 * OUTPUT_DIM, 16)
    # the trunk is drawn first from the same generator, so it equals the single-frame one
    for name in ("inp.weight", "blocks.2.fc2.bias"):
        assert torch.equal(g.state_dict()[name], single.state_dict()[name])


def test_bone_lengths_are_constant_along_a_sequence_and_root_moves():
    gen = torch.Generator().manual_seed(1)
    g = VideoPoseGenerator(16, 9, generator=gen)
    lengths = _lengths(6, gen)
    out = g(torch.randn(6, 128, generator=gen), lengths)
    assert out.world.shape == (6, 9, 16, 3) and out.angles.shape == (6, 9, 33)
    assert out.global_rot.shape == (6, 9, 3) and out.root.shape == (6, 9, 3)
    got = bone_lengths(out.world.double(), "fk")
    assert (got - lengths[:, None].double()).abs().max() < 1e-6          # every frame, 1e-6 m
    torch.testing.assert_close(out.world[:, :, 0], out.root)
    assert (out.root[:, 1:] - out.root[:, :1]).abs().max() > 1e-4       # free per frame
    assert (out.global_rot[:, 1:] - out.global_rot[:, :1]).abs().max() > 1e-2


def test_every_dof_stays_in_its_range_even_saturated():
    gen = torch.Generator().manual_seed(2)
    g = VideoPoseGenerator(16, 3, generator=gen)
    g.raw_outputs = lambda z: 1000 * z[:, :3 * OUTPUT_DIM]
    out = g(torch.randn(128, 128, generator=gen), _lengths(128, gen))
    for row in DOF_TABLE:
        lo, hi = row.gan_range
        a = out.angles[..., row.index]
        assert a.min() >= lo - 1e-3 and a.max() <= hi + 1e-3, row
        if row.free:
            assert a.min() < lo + 1 and a.max() > hi - 1, row
    assert out.global_rot.abs().max() <= 180 + 1e-3 and out.root.abs().max() <= 10


def test_each_frame_is_driven_by_its_own_outputs():
    gen = torch.Generator().manual_seed(3)
    g = VideoPoseGenerator(16, 4, generator=gen)
    cam = torch.from_numpy(h36m_camera_vector16("S1", 0))
    world = g(torch.randn(8, 128, generator=gen), _lengths(8, gen)).world
    world_to_screen(world[:, 2], cam).sum().backward()                    # frame 2 only
    per_output = g.out.weight.grad.abs().sum(1).view(4, OUTPUT_DIM)
    assert (per_output[[0, 1, 3]] == 0).all()
    used = torch.arange(OUTPUT_DIM) != 31                                 # output 31 unused
    assert (per_output[2, used] > 0).all() and per_output[2, 31] == 0
    assert all(p.grad is not None and p.grad.abs().max() > 0 for p in g.blocks.parameters())


def test_bad_lengths_shape_raises():
    g = VideoPoseGenerator(8, 3)
    with pytest.raises(ValueError, match=r"\(B, 15\)"):
        g(torch.randn(2, 128), torch.ones(2, 3, 15))
    with pytest.raises(ValueError, match="frames"):
        VideoPoseGenerator(8, 0)
