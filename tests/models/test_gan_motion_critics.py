import pytest
import torch

from models.gan_discriminators import bone_features
from models.gan_motion_critics import MotionCritic2D, MotionCritic3D, frame_differences


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("frames, d3, d2", [(9, 25_519_401, 12_538_401),
                                            (27, 27_787_401, 13_150_401)])
def test_parameter_counts_match_original(frames, d3, d2):
    with torch.device("meta"):
        assert _count(MotionCritic3D(1000, frames)) == d3
        assert _count(MotionCritic2D(1000, frames)) == d2
        # disabled branches are still built; only the merge layer narrows (4W -> 2W inputs)
        assert _count(MotionCritic3D(1000, frames, False, False)) == d3 - 2 * 1000 * 100


def test_frame_differences():
    x = torch.arange(12.0).reshape(1, 4, 3) ** 2
    torch.testing.assert_close(frame_differences(x), x[:, 1:] - x[:, :-1])
    assert frame_differences(x).shape == (1, 3, 3)


@pytest.mark.parametrize("use_pos, use_diff", [(True, True), (False, True), (True, False),
                                               (False, False)])
def test_motion_critic3d_branches_by_hand(use_pos, use_diff):
    gen = torch.Generator().manual_seed(0)
    d = MotionCritic3D(8, 5, use_pos, use_diff, generator=gen).double()
    seq = torch.randn(3, 5, 16, 3, generator=gen, dtype=torch.float64)
    cos = bone_features(seq)[..., :15]                                     # (3, 5, 15)
    flat = seq.reshape(3, 5, 48)
    parts = [d.cosine(cos.reshape(3, 75)), d.cosine_diff((cos[:, 1:] - cos[:, :-1]).reshape(3, 60))]
    if use_pos:
        parts.append(d.position(flat.reshape(3, 240)))
    if use_diff:
        parts.append(d.position_diff((flat[:, 1:] - flat[:, :-1]).reshape(3, 192)))
    expected = d.merge(torch.cat(parts, -1))
    torch.testing.assert_close(d(seq), expected)
    torch.testing.assert_close(d(flat), expected)                         # (B, T, 48) accepted
    assert d.merge[0].in_features == 8 * len(parts)


def test_motion_critic3d_is_a_sequence_score_of_bone_directions_only():
    gen = torch.Generator().manual_seed(1)
    d = MotionCritic3D(8, 4, use_pos_branch=False, use_diff_branch=False, generator=gen).double()
    seq = torch.randn(2, 4, 16, 3, generator=gen, dtype=torch.float64)
    # without position branches the score sees cosines only: scaling the pose changes nothing
    torch.testing.assert_close(d(3 * seq), d(seq))
    assert d(seq).shape == (2, 1)
    with pytest.raises(ValueError, match=r"\(B, 4, 16, 3\)"):
        d(seq[:, :3])


def test_motion_critic2d_branches_by_hand():
    gen = torch.Generator().manual_seed(2)
    d = MotionCritic2D(8, 3, generator=gen).double()
    seq = torch.randn(4, 3, 16, 2, generator=gen, dtype=torch.float64)
    root_step = torch.stack([seq[:, 1, 0] - seq[:, 0, 0], seq[:, 2, 0] - seq[:, 1, 0]], 1)
    expected = d.merge(torch.cat([d.pose(seq.reshape(4, 96)), d.root_motion(root_step.reshape(4, 4))], -1))
    torch.testing.assert_close(d(seq), expected)
    # moving every joint by the same offset in every frame changes only the pose branch input
    shifted = seq + torch.tensor([0.1, -0.2], dtype=torch.float64)
    torch.testing.assert_close(d.root_motion(root_step.reshape(4, 4)),
                               d.root_motion(frame_differences(shifted[:, :, 0]).reshape(4, 4)))
    with pytest.raises(ValueError, match="MotionCritic2D"):
        d(torch.randn(4, 3, 16, 3))
    with pytest.raises(ValueError, match="2 frames"):
        MotionCritic2D(8, 1)


def test_initialisation_comes_from_the_generator():
    a = MotionCritic2D(8, 3, generator=torch.Generator().manual_seed(5))
    b = MotionCritic2D(8, 3, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = MotionCritic3D(8, 3, generator=torch.Generator().manual_seed(5))
    d = MotionCritic3D(8, 3, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(c.cosine[0].weight, d.cosine[0].weight)
