import pytest
import torch
from torch.nn import functional as F

from models.gan_discriminators import COSINE_PAIRS, Critic2D, Critic3D, bone_features
from utils.skeleton import bone_vectors

# Rest pose of the DH model with its default lengths (docs/dh_model.md#dh-tables).
REST = torch.tensor([
    [0, 0, 0], [0.25, 0, 0], [0.25, 0, -0.6], [0.25, 0, -1.1], [-0.25, 0, 0], [-0.25, 0, -0.6],
    [-0.25, 0, -1.1], [0, 0, 0.25], [0, 0, 0.45], [0, 0, 0.6], [-0.3, 0, 0.45], [-0.3, 0, 0.05],
    [-0.3, 0, -0.3], [0.3, 0, 0.45], [0.3, 0, 0.05], [0.3, 0, -0.3]], dtype=torch.float64)


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("width, d3, d2", [(1000, 12_312_401, 4_038_001), (256, 881_585, 271_873)])
def test_parameter_counts_match_original(width, d3, d2):
    assert _count(Critic3D(width)) == d3
    assert _count(Critic2D(width)) == d2


def test_bone_features_of_rest_pose_by_hand():
    feats = bone_features(REST)
    # straight legs/arms: 1; thigh vs hip, hip vs waist, thorax vs shoulders, shoulder vs upper
    # arm: 0; left hip vs right hip: -1
    cos = [1, 1, 0, 0, -1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]
    lengths = [0.5, 0.5, 0.6, 0.6, 0.25, 0.25, 0.25, 0.2, 0.3, 0.3, 0.4, 0.4, 0.35, 0.35, 0.15]
    torch.testing.assert_close(feats, torch.tensor(cos + lengths, dtype=torch.float64),
                               rtol=0, atol=1e-12)


def test_bone_features_batched_equal_per_pair_formula():
    pose = torch.randn(2, 3, 16, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    feats = bone_features(pose)
    bones = bone_vectors(pose, "fk")
    assert feats.shape == (2, 3, 30)
    for k, (a, b) in enumerate(COSINE_PAIRS):
        expected = F.cosine_similarity(bones[..., a, :], bones[..., b, :], dim=-1, eps=0)
        torch.testing.assert_close(feats[..., k], expected)
    torch.testing.assert_close(feats[..., 15:], bones.norm(dim=-1))


def test_critics_accept_flat_or_joint_shaped_input():
    gen = torch.Generator().manual_seed(1)
    d3, d2 = Critic3D(8, generator=gen), Critic2D(8, generator=gen)
    p3, p2 = torch.randn(4, 16, 3, generator=gen), torch.randn(4, 16, 2, generator=gen)
    assert d3(p3).shape == (4, 1) and d2(p2).shape == (4, 1)
    torch.testing.assert_close(d3(p3.flatten(1)), d3(p3))
    torch.testing.assert_close(d2(p2.flatten(1)), d2(p2))


def test_critic2d_is_the_documented_residual_mlp():
    gen = torch.Generator().manual_seed(2)
    d2 = Critic2D(8, generator=gen)
    x = torch.randn(5, 32, generator=gen)
    lin = lambda layer, v: v @ layer.weight.T + layer.bias          # noqa: E731
    lrelu = lambda v: torch.where(v > 0, v, 0.01 * v)              # noqa: E731
    d1 = lrelu(lin(d2.l1, x))
    d3 = lrelu(lin(d2.l3, lrelu(lin(d2.l2, d1))) + d1)
    expected = lin(d2.pred, lrelu(lin(d2.last, lin(d2.l4, d3))))
    torch.testing.assert_close(d2(x), expected)


def test_critic3d_position_branch_merges_after_feature_branch():
    gen = torch.Generator().manual_seed(3)
    d3 = Critic3D(8, generator=gen)
    pose = torch.randn(3, 16, 3, generator=gen)
    branches = [d3.feature(bone_features(pose)), d3.position(pose.flatten(1))]
    expected = d3.merge(torch.cat(branches, -1))
    torch.testing.assert_close(d3(pose), expected)


def test_initialisation_comes_from_the_generator():
    a = Critic2D(8, generator=torch.Generator().manual_seed(5))
    b = Critic2D(8, generator=torch.Generator().manual_seed(5))
    c = Critic2D(8, generator=torch.Generator().manual_seed(6))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.l2.weight, c.l2.weight)
    bound = 1 / 8 ** 0.5
    assert a.l2.weight.abs().max() <= bound and a.l2.bias.abs().max() <= bound
    assert a.l2.weight.abs().max() > 0.8 * bound      # spread over the whole default interval
