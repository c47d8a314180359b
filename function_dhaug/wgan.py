"""WGAN-GP pieces: interpolation, gradient penalty, one critic step, generator loss
(docs/gan.md#losses).

Statistics come back as detached device tensors so the training loop never waits on the device;
the caller moves them to the host once per epoch for logging.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from utils.skeleton import flip_pose

# Order of the values returned by :func:`critic_step`.
CRITIC_STAT_NAMES = ("D_real", "D_fake", "Wasserstein_D", "gradient_penalty", "loss")
# Order of the values returned by :func:`generator_loss` (second item).
GENERATOR_STAT_NAMES = ("loss", "D3_fake", "D2_fake")


def interpolate(real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``alpha_i * real_i + (1 - alpha_i) * fake_i`` with one alpha (B,) per row of (B, ...)."""
    a = alpha.to(real.dtype).reshape((-1,) + (1,) * (real.dim() - 1))
    return a * real + (1 - a) * fake


def penalty_from_scores(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``mean_i (||d score_i / d points_i||_2 - 1)^2`` with the graph kept (rows flattened)."""
    grad, = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def gradient_penalty(critic: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """Gradient penalty of ``critic`` at ``points`` (B, ...), differentiable w.r.t. its weights."""
    points = points.detach().requires_grad_(True)
    return penalty_from_scores(critic(points), points)


def critic_step(critic: nn.Module, optimizer: torch.optim.Optimizer, real: torch.Tensor,
                fake: torch.Tensor, alpha: torch.Tensor, penalty_weight: float) -> torch.Tensor:
    """One Adam step on ``mean D(fake) - mean D(real) + lambda * GP``.

    real, fake (B, ...) (detached here); alpha (B,) in [0, 1). Real and fake go through the
    critic as one concatenated batch (the critic is row-wise, so this equals two calls); the
    interpolates get their own call so the double backward of the penalty only spans B rows.
    Returns the detached (5,) tensor ``CRITIC_STAT_NAMES``.
    """
    real, fake = real.detach(), fake.detach()
    n_real = real.shape[0]
    points = interpolate(real, fake, alpha).requires_grad_(True)
    scores = critic(torch.cat([real, fake]))
    d_real = scores[:n_real].mean()
    d_fake = scores[n_real:].mean()
    gp = penalty_from_scores(critic(points), points)
    loss = d_fake - d_real + penalty_weight * gp
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack([d_real, d_fake, d_real - d_fake, gp, loss]).detach()


def mean_score(critic: nn.Module, pose: torch.Tensor, flip: bool) -> torch.Tensor:
    """``mean D(pose)``, or with ``flip`` the average of the plain and the mirrored batch
    (mirrored copies carry gradient, docs/gan.md#losses)."""
    if flip:
        pose = torch.cat([pose, flip_pose(pose)])
    return critic(pose).mean()


def generator_loss(critic3d: nn.Module, critic2d: nn.Module, fake3d_rr: torch.Tensor,
                   fake2d: torch.Tensor, weight3d: float, weight2d: float,
                   flip: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``L_G = -(w3 * mean D3(fake3d_rr) + w2 * mean D2(fake2d))`` (mirror-averaged with ``flip``).

    fake3d_rr (B,16,3) root-relative world; fake2d (B,16,2) normalised. Returns (loss, detached (3,)
    tensor ``GENERATOR_STAT_NAMES``).
    """
    s3 = mean_score(critic3d, fake3d_rr, flip)
    s2 = mean_score(critic2d, fake2d, flip)
    loss = -(weight3d * s3 + weight2d * s2)
    return loss, torch.stack([loss, s3, s2]).detach()


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Switch off weight gradients of ``modules`` (input gradients still flow), then restore."""
    params = [p for m in modules for p in m.parameters()]
    saved = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, saved):
            p.requires_grad_(flag)
