import pytest
import torch
from torch import nn

from function_dhaug.wgan import (critic_step, frozen, generator_loss, gradient_penalty,
                                 interpolate, mean_score)
from utils.skeleton import JOINTS_LEFT, JOINTS_RIGHT, flip_pose


class LinearCritic(nn.Module):
    """score = <w, flatten(x)> (no bias): its input gradient is w everywhere."""

    def __init__(self, weight):
        super().__init__()
        self.w = nn.Parameter(weight.clone())

    def forward(self, x):
        return x.flatten(1) @ self.w.unsqueeze(-1)


def _mlp(gen, d_in):
    net = nn.Sequential(nn.Flatten(), nn.Linear(d_in, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return net


def test_interpolate_one_alpha_per_row():
    real = torch.ones(2, 3, 2)
    fake = torch.zeros(2, 3, 2)
    out = interpolate(real, fake, torch.tensor([0.25, 1.0]))
    assert torch.equal(out[0], torch.full((3, 2), 0.25)) and torch.equal(out[1], torch.ones(3, 2))


@pytest.mark.parametrize("norm, expected", [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)])
def test_gradient_penalty_of_linear_critic(norm, expected):
    w = torch.randn(32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    critic = LinearCritic(w / w.norm() * norm)
    points = torch.randn(5, 16, 2, dtype=torch.float64)
    gp = gradient_penalty(critic, points)
    assert gp.item() == pytest.approx(expected, abs=1e-12)


def test_critic_step_matches_separate_calls_and_changes_weights():
    gen = torch.Generator().manual_seed(1)
    critic = _mlp(gen, 6)
    reference = _mlp(gen, 6)
    reference.load_state_dict(critic.state_dict())
    real = torch.randn(4, 3, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(4, 3, 2, generator=gen, dtype=torch.float64)
    alpha = torch.rand(4, generator=gen, dtype=torch.float64)
    before = [p.detach().clone() for p in critic.parameters()]
    sgd = torch.optim.SGD(critic.parameters(), lr=0.1)
    stats = critic_step(critic, sgd, real, fake, alpha, 10.0)
    # the same loss written out with three separate critic calls
    x_hat = (alpha[:, None, None] * real + (1 - alpha[:, None, None]) * fake).requires_grad_(True)
    score = reference(x_hat.flatten(1))
    grad, = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    d_real, d_fake = reference(real.flatten(1)).mean(), reference(fake.flatten(1)).mean()
    loss = d_fake - d_real + 10.0 * gp
    loss.backward()
    expected = torch.stack([d_real, d_fake, d_real - d_fake, gp, loss]).detach()
    torch.testing.assert_close(stats, expected)
    assert torch.isfinite(stats).all()
    names = [n for n, _ in critic.named_parameters()]
    for name, p_new, p_old, p_ref in zip(names, critic.parameters(), before,
                                         reference.parameters()):
        torch.testing.assert_close(p_new, p_old - 0.1 * p_ref.grad)
        if name == "3.bias":   # a constant shift of the score cancels in the WGAN loss
            assert p_ref.grad.abs().max() < 1e-12
        else:
            assert (p_new - p_old).abs().max() > 1e-6


def test_critic_step_with_unit_linear_critic_has_zero_penalty():
    w = torch.randn(6, dtype=torch.float64)
    critic = LinearCritic(w / w.norm())
    real = torch.randn(3, 3, 2, dtype=torch.float64)
    fake = torch.randn(3, 3, 2, dtype=torch.float64)
    stats = critic_step(critic, torch.optim.SGD(critic.parameters(), lr=0.0), real, fake,
                        torch.rand(3, dtype=torch.float64), 10.0)
    assert stats[3].item() == pytest.approx(0.0, abs=1e-14)
    expected = (fake.flatten(1) @ critic.w).mean() - (real.flatten(1) @ critic.w).mean()
    assert stats[4].item() == pytest.approx(expected.item(), abs=1e-12)


def test_generator_loss_mirrored_terms_carry_gradient():
    # a critic reading only the x of the LEFT joints: its plain input ignores right joints, so a
    # gradient on right-joint x can only come through the mirrored copy
    w3 = torch.zeros(16, 3, dtype=torch.float64)
    w3[list(JOINTS_LEFT), 0] = 1.0
    w2 = torch.zeros(16, 2, dtype=torch.float64)
    w2[list(JOINTS_LEFT), 0] = 1.0
    d3, d2 = LinearCritic(w3.flatten()), LinearCritic(w2.flatten())
    x3 = torch.randn(4, 16, 3, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(4, 16, 2, dtype=torch.float64, requires_grad=True)
    loss, stats = generator_loss(d3, d2, x3, x2, 1.0, 0.2, flip=True)
    s3 = (d3(x3).mean() + d3(flip_pose(x3)).mean()) / 2
    s2 = (d2(x2).mean() + d2(flip_pose(x2)).mean()) / 2
    assert loss.item() == pytest.approx(-(s3 + 0.2 * s2).item(), abs=1e-12)
    assert stats[1].item() == pytest.approx(s3.item(), abs=1e-12)
    loss.backward()
    right = list(JOINTS_RIGHT)
    # d/dx of -(1/2) mean(-x_right) = +1/(2B) per right joint x
    torch.testing.assert_close(x3.grad[:, right, 0], torch.full((4, 6), 1 / 8, dtype=torch.float64))
    torch.testing.assert_close(x2.grad[:, right, 0],
                               torch.full((4, 6), 0.2 / 8, dtype=torch.float64))


def test_mean_score_without_flip_is_plain_mean():
    w = torch.randn(32, dtype=torch.float64)
    critic = LinearCritic(w)
    x = torch.randn(5, 16, 2, dtype=torch.float64)
    expected = (x.flatten(1) @ w).mean().item()
    assert mean_score(critic, x, flip=False).item() == pytest.approx(expected)


def test_frozen_switches_weight_gradients_off_and_restores():
    net = nn.Linear(3, 1)
    net.bias.requires_grad_(False)
    with frozen(net):
        assert not any(p.requires_grad for p in net.parameters())
        x = torch.randn(2, 3, requires_grad=True)
        net(x).sum().backward()
        assert x.grad is not None and net.weight.grad is None
    assert net.weight.requires_grad and not net.bias.requires_grad
