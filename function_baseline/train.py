"""One pose-net training pass, shared by single-frame and video mode (docs/training.md#pose-net-step,
docs/video.md#video-pose-net).

Per batch a list of step variants, each one forward / backward / clip / Adam step:
single frame: plain, then mirrored input and target (``--flip_pos_model_input``), MSE loss;
video: plain, time-reversed input with the same centre-frame target (``--GAN_video_playback_input``),
mirrored input and target (``--flip_pos_model_input``), mirrored and reversed (both), MPJPE loss.

Several ranks (``ctx``, docs/distributed.md#batch-split): every rank draws the same permutation,
loads only its slice of each global batch and backpropagates its share of the global-batch loss;
the gradients (and the step's loss, in the same collective) are averaged before the hook, the
clipping and the Adam step, so every rank takes the step of the 1-rank run.
"""
from __future__ import annotations

import argparse
from typing import Callable, Optional

import torch
from tqdm import tqdm

from function_baseline.pose_set import PoseSet, batch_indices
from function_baseline.video_data import BatchSource, frame_source
from utils import metrics
from utils.distributed import DistContext
from utils.skeleton import flip_pose

# after_backward(model, loss) runs between backward and clipping; returning False skips the step.
AfterBackward = Callable[[torch.nn.Module, torch.Tensor], Optional[bool]]


def pose_loss(pred: torch.Tensor, target: torch.Tensor, video: bool,
              ctx: DistContext | None = None, global_rows: int = 0) -> torch.Tensor:
    """Video: MPJPE (mean Euclidean joint error, metres); single frame: MSE over B x 16 x 3.

    With several ranks ``pred``/``target`` are this rank's rows of a ``global_rows``-row batch
    and the result is ``ctx.global_mean`` of the errors: averaged over the ranks, its gradient is
    that of the loss of the whole global batch (docs/distributed.md#gradient-sync).
    """
    if ctx is None or not ctx.distributed:
        if video:
            return metrics.mpjpe(pred, target).mean()
        return torch.nn.functional.mse_loss(pred, target)
    errors = metrics.mpjpe(pred, target) if video else (pred - target) ** 2
    return ctx.global_mean(errors, global_rows)


def step_variants(inputs: torch.Tensor, target: torch.Tensor, args: argparse.Namespace,
                  video: bool) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """[(name, inputs, target)] in step order; names are the keys of ``train_epoch``'s result.

    inputs (B, 16, 2) or (B, T, 16, 2); time reversal flips axis 1 (video only).
    """
    reverse = video and args.GAN_video_playback_input
    out = [("loss", inputs, target)]
    if reverse:
        out.append(("loss_reverse", inputs.flip(1), target))
    if args.flip_pos_model_input:
        mirrored, mirrored_target = flip_pose(inputs), flip_pose(target)
        out.append(("loss_flip", mirrored, mirrored_target))
        if reverse:
            out.append(("loss_flip_reverse", mirrored.flip(1), mirrored_target))
    return out


def posenet_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
                 target: torch.Tensor, video: bool, max_norm: bool,
                 after_backward: AfterBackward | None = None, ctx: DistContext | None = None,
                 global_rows: int = 0) -> torch.Tensor:
    """One optimiser step on one variant; returns the detached loss (stays on the device).

    Several ranks: inputs/target are this rank's rows of a ``global_rows``-row batch; gradients
    and loss are averaged over the ranks before ``after_backward`` and the clipping, so the hook
    sees (and decides on) the same values on every rank.
    """
    optimizer.zero_grad(set_to_none=True)
    loss = pose_loss(model(inputs), target, video, ctx, global_rows)
    loss.backward()
    if ctx is not None:
        loss = ctx.allreduce_gradients(model.parameters(), extra=loss)
    if after_backward is not None and after_backward(model, loss) is False:
        return loss.detach()
    if max_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    return loss.detach()


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                source: BatchSource | PoseSet, args: argparse.Namespace,
                generator: torch.Generator, desc: str = "train",
                after_backward: AfterBackward | None = None,
                ctx: DistContext | None = None) -> dict:
    """One shuffled pass over ``source`` (a PoseSet means single-frame batches of it).

    The order is ``batch_indices(len(source), args.batch_size, generator)`` (one fresh
    permutation per call); a final batch of one sample is skipped (batch norm cannot train on it,
    as in the original). Returns {variant name: mean loss over samples}, with a single host sync.

    ``ctx``: several ranks split every global batch of ``args.batch_size`` (module notes); the
    returned losses are then those of the global batches, equal on every rank; tqdm on rank 0.
    """
    ctx = ctx or DistContext()
    if isinstance(source, PoseSet):
        source = frame_source(source)
    model.train()
    totals: dict[str, torch.Tensor] = {}
    seen = 0
    n_batches = -(-len(source) // args.batch_size)
    batches = batch_indices(len(source), args.batch_size, generator, shuffle=True)
    for idx in tqdm(batches, total=n_batches, desc=desc, leave=False, dynamic_ncols=True,
                    disable=not ctx.is_main):
        if len(idx) < 2:
            break
        inputs, target = source.batch(ctx.shard(idx))
        for name, x, y in step_variants(inputs, target, args, source.video):
            loss = posenet_step(model, optimizer, x, y, source.video, args.max_norm, after_backward,
                                ctx, len(idx))
            totals[name] = totals.get(name, 0.0) + loss * len(idx)
        seen += len(idx)
    if not totals:
        return {"loss": 0.0}
    means = torch.stack(list(totals.values())).tolist()
    return {name: value / seen for name, value in zip(totals, means)}
