"""WGAN-GP pieces of video DH-AUG: the critic order, the critic steps and the generator loss.

One iteration calls the critics in a fixed order (docs/video.md#critic-order), for the 3D group
then the 2D group: the single-frame critic; from the warm-up epoch on, the motion critic and the
motion critic on the time-reversed pair; with mirroring, the same three again on the mirrored
pair. Every call is one Adam step with its own gradient penalty: per frame for the single-frame
critics, per *sequence* for both motion critics. Time reversal is ``flip(dims=[1])`` of the
(B, T, 16, D) sequence; mirrored and reversed generator terms carry gradient.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from function_dhaug.sampling import draw_alpha
from function_dhaug.wgan import critic_step, mean_score
from utils.distributed import DistContext
from utils.skeleton import flip_pose

# Order of the values returned by :func:`video_generator_loss` (second item).
VIDEO_GENERATOR_STAT_NAMES = ("loss", "D3_fake", "D2_fake", "motion_D3_fake", "motion_D2_fake")
# TensorBoard names of (single-frame critic, motion critic) per space.
_TAGS = {"3d": ("Fk_d3d", "motion_Fk_d3d"), "2d": ("d2d", "motion_d2d")}


class CriticCall(NamedTuple):
    """One critic call: space '3d' or '2d'; motion (else single-frame) critic; whether the pair is
    mirrored and/or time-reversed; the TensorBoard name it logs under."""
    space: str
    motion: bool
    mirror: bool
    reverse: bool
    tag: str


def critic_calls(space: str, motion: bool, flip: bool, playback: bool) -> tuple[CriticCall, ...]:
    """The calls of one space in order. motion: epoch >= --single_dis_warmup_epoch; flip:
    --flip_GAN_model_input; playback: --GAN_video_playback_input. Mirrored calls share the tag of
    their plain call; the reversed motion calls log as ``back_`` / ``back_flip_`` + motion tag."""
    frame_tag, motion_tag = _TAGS[space]
    calls = []
    for mirror in ((False, True) if flip else (False,)):
        calls.append(CriticCall(space, False, mirror, False, frame_tag))
        if motion:
            calls.append(CriticCall(space, True, mirror, False, motion_tag))
            if playback:
                back = "back_flip_" if mirror else "back_"
                calls.append(CriticCall(space, True, mirror, True, back + motion_tag))
    return tuple(calls)


def view(seq: torch.Tensor, mirror: bool, reverse: bool) -> torch.Tensor:
    """``seq`` (B, T, 16, D) mirrored (left/right, x negated) and/or reversed in time."""
    if mirror:
        seq = flip_pose(seq)
    return seq.flip(dims=[1]) if reverse else seq


def video_critic_step(critic: nn.Module, optimizer: torch.optim.Optimizer, real: torch.Tensor,
                      fake: torch.Tensor, per_sequence: bool, generator: torch.Generator,
                      penalty_weight: float, ctx: DistContext | None = None) -> torch.Tensor:
    """One WGAN-GP Adam step on sequences real, fake (B, T, 16, D).

    per_sequence (motion critics): the critic scores whole sequences and the penalty takes one
    alpha and one gradient norm per sequence (the norm over all T*16*D inputs). Otherwise
    (single-frame critics) the B*T frames are independent rows, each with its own alpha and norm.
    Alphas come from ``generator`` (CPU). ctx: real/fake are this rank's equal share of a global
    batch; the alphas of the whole batch are drawn (rows in batch-major order, so this rank's
    sequences or frames are one contiguous slice) and its slice kept; the optimiser averages the
    gradients. Returns the detached (5,) ``CRITIC_STAT_NAMES`` tensor.
    """
    if not per_sequence:
        real, fake = real.flatten(0, 1), fake.flatten(0, 1)
    ctx = ctx or DistContext()
    alpha = ctx.draw_global(lambda n: draw_alpha(n, generator, real.device, real.dtype),
                            real.shape[0])
    return critic_step(critic, optimizer, real, fake, alpha, penalty_weight)


def motion_views(seq: torch.Tensor, flip: bool, playback: bool) -> torch.Tensor:
    """The variants a motion term averages over, stacked on the batch axis: the sequence, its
    time reversal (playback), and the mirrored copies of both (flip) -> (V*B, T, 16, D)."""
    views = [seq]
    if playback:
        views.append(view(seq, False, True))
    if flip:
        views += [flip_pose(v) for v in views]
    return torch.cat(views) if len(views) > 1 else seq


def video_generator_loss(critics: dict[str, nn.Module], fake3d_rr: torch.Tensor,
                         fake2d: torch.Tensor, weights: dict[str, float], flip: bool,
                         playback: bool, motion: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``L = -(w3 L3 + w2 L2 + [motion] (wm3 Lm3 + wm2 Lm2))`` for fake sequences.

    critics / weights keyed 'd3', 'd2', 'm3', 'm2'; fake3d_rr (B,T,16,3) root-relative world,
    fake2d (B,T,16,2) normalised. L3, L2: mean single-frame score over the B*T frames (averaged
    with the mirrored frames with ``flip``). Lm3, Lm2: mean motion score, averaged over the plain
    and reversed sequences (``playback``) and their mirrored copies (``flip``); every variant
    has B rows, so the mean of their concatenation is the average of their means. All terms
    carry gradient. Returns (loss, detached (5,) ``VIDEO_GENERATOR_STAT_NAMES``).
    """
    s3 = mean_score(critics["d3"], fake3d_rr.flatten(0, 1), flip)
    s2 = mean_score(critics["d2"], fake2d.flatten(0, 1), flip)
    total = weights["d3"] * s3 + weights["d2"] * s2
    m3 = m2 = torch.zeros_like(s3)
    if motion:
        m3 = critics["m3"](motion_views(fake3d_rr, flip, playback)).mean()
        m2 = critics["m2"](motion_views(fake2d, flip, playback)).mean()
        total = total + weights["m3"] * m3 + weights["m2"] * m2
    loss = -total
    return loss, torch.stack([loss, s3, s2, m3, m2]).detach()
