import pytest
import torch
from torch import nn

from function_dhaug.video_wgan import (critic_calls, motion_views, video_critic_step,
                                       video_generator_loss, view)
from utils.skeleton import JOINTS_LEFT, JOINTS_RIGHT, flip_pose

B, T = 3, 4


class LinearCritic(nn.Module):
    """score = <w, flatten(x)> (no bias): its input gradient is w wherever it is evaluated."""

    def __init__(self, weight):
        super().__init__()
        self.w = nn.Parameter(weight.clone())

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten().unsqueeze(-1)


def _unit(shape, seed=0):
    w = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return w / w.norm()


def test_critic_order_and_tags():
    names = [(c.motion, c.mirror, c.reverse, c.tag) for c in critic_calls("3d", True, True, True)]
    assert names == [(False, False, False, "Fk_d3d"), (True, False, False, "motion_Fk_d3d"),
                     (True, False, True, "back_motion_Fk_d3d"), (False, True, False, "Fk_d3d"),
                     (True, True, False, "motion_Fk_d3d"),
                     (True, True, True, "back_flip_motion_Fk_d3d")]
    assert [c.tag for c in critic_calls("2d", True, True, True)] == [
        "d2d", "motion_d2d", "back_motion_d2d", "d2d", "motion_d2d", "back_flip_motion_d2d"]
    assert [c.tag for c in critic_calls("2d", False, True, True)] == ["d2d", "d2d"]
    assert [c.tag for c in critic_calls("3d", True, False, True)] == [
        "Fk_d3d", "motion_Fk_d3d", "back_motion_Fk_d3d"]
    assert [c.tag for c in critic_calls("3d", True, True, False)] == [
        "Fk_d3d", "motion_Fk_d3d", "Fk_d3d", "motion_Fk_d3d"]
    assert all(c.space == "2d" for c in critic_calls("2d", True, True, True))


def test_reversed_3d_sequence_is_flip_along_time():
    seq = torch.randn(B, T, 16, 3)
    rev = view(seq, mirror=False, reverse=True)
    assert rev.shape == (B, T, 16, 3) and torch.equal(rev, seq.flip(dims=[1]))
    assert torch.equal(rev[:, 0], seq[:, -1]) and torch.equal(rev[:, -1], seq[:, 0])
    both = view(seq, mirror=True, reverse=True)
    assert torch.equal(both, flip_pose(seq).flip(dims=[1]))
    views = motion_views(seq, flip=True, playback=True)
    assert views.shape == (4 * B, T, 16, 3)
    for k, expected in enumerate((seq, seq.flip(dims=[1]), flip_pose(seq),
                                  flip_pose(seq.flip(dims=[1])))):
        assert torch.equal(views[k * B:(k + 1) * B], expected)
    assert motion_views(seq, flip=False, playback=False) is seq


@pytest.mark.parametrize("norm, expected", [(1.0, 0.0), (0.5, 0.25), (2.0, 1.0)])
def test_gradient_penalty_of_a_linear_motion_critic_is_per_sequence(norm, expected):
    # A linear critic's input gradient is its weight w, so GP = (||w|| - 1)^2 when the norm is
    # taken over a whole sequence: weight norm 1 -> 0, 1/2 -> 0.25, 2 -> 1. (Per frame, the same
    # critic would see norms of w's T slices, each < ||w||.)
    critic = LinearCritic(_unit((T, 16, 3)) * norm)
    real = torch.randn(B, T, 16, 3, dtype=torch.float64)
    fake = torch.randn(B, T, 16, 3, dtype=torch.float64)
    stats = video_critic_step(critic, torch.optim.SGD(critic.parameters(), lr=0.0), real, fake,
                              True, torch.Generator().manual_seed(0), 10.0)
    assert stats[3].item() == pytest.approx(expected, abs=1e-12)
    w = critic.w.detach().flatten()
    d_real, d_fake = (real.flatten(1) @ w).mean().item(), (fake.flatten(1) @ w).mean().item()
    assert stats[:3].tolist() == pytest.approx([d_real, d_fake, d_real - d_fake], abs=1e-12)


def test_single_frame_critic_steps_see_every_frame_as_a_row():
    # 2D frame critic with unit weight: per-frame GP is 0; its mean scores are over B*T frames
    critic = LinearCritic(_unit((16, 2), seed=1))
    real = torch.randn(B, T, 16, 2, dtype=torch.float64)
    fake = torch.randn(B, T, 16, 2, dtype=torch.float64)
    stats = video_critic_step(critic, torch.optim.SGD(critic.parameters(), lr=0.0), real, fake,
                              False, torch.Generator().manual_seed(0), 10.0)
    assert stats[3].item() == pytest.approx(0.0, abs=1e-12)
    expected = (real.reshape(B * T, 32) @ critic.w.flatten()).mean()
    assert stats[0].item() == pytest.approx(expected.item(), abs=1e-12)


def test_motion_terms_get_gradient_through_reversal_and_mirroring():
    # Motion critics reading only the x of the LEFT joints in frame 0: the plain sequence
    # reaches frame 0 / left, the reversed copy frame T-1 / left, the mirrored copy frame 0 /
    # right (x negated), the mirrored reversed copy frame T-1 / right.
    w3 = torch.zeros(T, 16, 3, dtype=torch.float64)
    w3[0, list(JOINTS_LEFT), 0] = 1.0
    w2 = torch.zeros(T, 16, 2, dtype=torch.float64)
    w2[0, list(JOINTS_LEFT), 0] = 1.0
    zero3, zero2 = LinearCritic(torch.zeros(16, 3)), LinearCritic(torch.zeros(16, 2))
    critics = {"d3": zero3.double(), "d2": zero2.double(), "m3": LinearCritic(w3),
               "m2": LinearCritic(w2)}
    weights = {"d3": 1.0, "d2": 0.2, "m3": 1.0, "m2": 0.5}
    x3 = torch.randn(B, T, 16, 3, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(B, T, 16, 2, dtype=torch.float64, requires_grad=True)
    loss, stats = video_generator_loss(critics, x3, x2, weights, flip=True, playback=True,
                                       motion=True)
    left, right = list(JOINTS_LEFT), list(JOINTS_RIGHT)

    def motion_score(x):
        plain = x[:, 0, left, 0].sum(-1).mean()
        rev = x[:, -1, left, 0].sum(-1).mean()
        mir, mir_rev = -x[:, 0, right, 0].sum(-1).mean(), -x[:, -1, right, 0].sum(-1).mean()
        return ((plain + rev) / 2 + (mir + mir_rev) / 2) / 2

    m3, m2 = motion_score(x3), motion_score(x2)
    assert loss.item() == pytest.approx(-(m3 + 0.5 * m2).item(), abs=1e-12)
    assert stats[3:].tolist() == pytest.approx([m3.item(), m2.item()], abs=1e-12)
    loss.backward()
    for x, wm in ((x3, 1.0), (x2, 0.5)):
        g = torch.zeros_like(x)
        g[:, 0, left, 0] = g[:, -1, left, 0] = -wm / (4 * B)
        g[:, 0, right, 0] = g[:, -1, right, 0] = wm / (4 * B)
        torch.testing.assert_close(x.grad, g, rtol=0, atol=1e-12)


def test_without_motion_the_motion_critics_are_not_called():
    def boom(_):
        raise AssertionError("motion critic called before the warm-up epoch")

    critics = {"d3": LinearCritic(_unit((16, 3))), "d2": LinearCritic(_unit((16, 2))),
               "m3": boom, "m2": boom}
    weights = {"d3": 1.0, "d2": 0.2, "m3": 1.0, "m2": 1.0}
    x3 = torch.randn(B, T, 16, 3, dtype=torch.float64)
    x2 = torch.randn(B, T, 16, 2, dtype=torch.float64)
    loss, stats = video_generator_loss(critics, x3, x2, weights, flip=False, playback=True,
                                       motion=False)
    s3 = (x3.reshape(B * T, 48) @ critics["d3"].w.flatten()).mean()
    s2 = (x2.reshape(B * T, 32) @ critics["d2"].w.flatten()).mean()
    assert loss.item() == pytest.approx(-(s3 + 0.2 * s2).item(), abs=1e-12)
    assert stats[3:].tolist() == [0.0, 0.0]
