"""Evaluation on H36M S9/S11 (P1, P2, per action; no flip) and 3DHP (P1, P2, PCK, AUC; flip
test-time augmentation), docs/evaluation.md#protocol. Every metric is a mean over frames, in
millimetres, in both modes (docs/video.md#video-evaluation).

Video lifters (``frames`` = T > 1) predict every frame of every sequence: the dilated TCN on whole
sequences edge-padded by (T-1)/2 (all sequences concatenated into one padded stream, cut into
fixed overlapping chunks, so there is no per-sequence Python loop), any other model (PoseFormer)
on the edge-padded window of each frame, in order.

Several ranks (``ctx``): each predicts a contiguous run of whole forward batches (EVAL_BATCH rows,
or TCN_CHUNKS_PER_PASS chunks), so every rank feeds the network exactly the batches of the 1-rank
evaluation; the predictions are gathered in order and every rank computes the same metrics, equal
to the 1-rank ones (docs/distributed.md#batch-split).
"""
from __future__ import annotations

import torch

from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows, padded_stream_rows
from models.lifter_videopose import DilatedTemporalLifter
from utils import metrics
from utils.distributed import DistContext, chunk_bounds
from utils.skeleton import EVAL_JOINTS_14, flip_pose, root_relative

# Fixed, so that --evaluate reproduces the logged numbers whatever --batch_size says.
EVAL_BATCH = 2048
# Dilated TCN: output frames per chunk (at least 4 receptive fields) and chunks per forward pass.
TCN_CHUNK = 1024
TCN_CHUNKS_PER_PASS = 8


def _with_tta(model: torch.nn.Module, x: torch.Tensor, flip_tta: bool) -> torch.Tensor:
    y = model(x)
    if flip_tta:
        y = (y + flip_pose(model(flip_pose(x)))) / 2
    return y


def _my_blocks(n: int, block: int, ctx: DistContext | None) -> range:
    """Starts of this rank's ``block``-sized forward batches of n rows (all of them for 1 rank)."""
    start, stop = (0, n) if ctx is None else chunk_bounds(n, block, ctx.world_size, ctx.rank)
    return range(start, stop, block)


def _gathered(parts: list[torch.Tensor], ctx: DistContext | None, joints: int,
              like: torch.Tensor) -> torch.Tensor:
    """This rank's outputs (rows in order) -> every rank's, in rank order (= the 1-rank rows);
    an empty share counts as (0, joints, 3)."""
    if ctx is None or not ctx.distributed:
        return torch.cat(parts)
    local = torch.cat(parts) if parts else like.new_zeros(0, joints, 3)
    return ctx.gather_rows(local)


@torch.no_grad()
def predict(model: torch.nn.Module, pose2d: torch.Tensor, flip_tta: bool = False,
            ctx: DistContext | None = None) -> torch.Tensor:
    """Root-relative predictions (N, 16, 3) in metres, in eval mode, batch by batch."""
    was_training = model.training
    model.eval()
    out = []
    for start in _my_blocks(len(pose2d), EVAL_BATCH, ctx):
        out.append(root_relative(_with_tta(model, pose2d[start:start + EVAL_BATCH], flip_tta)))
    model.train(was_training)
    return _gathered(out, ctx, pose2d.shape[1], pose2d)


@torch.no_grad()
def predict_tcn_sequences(model: torch.nn.Module, pose2d: torch.Tensor, sequence: torch.Tensor,
                          frames: int, flip_tta: bool = False,
                          ctx: DistContext | None = None) -> torch.Tensor:
    """Dilated TCN over whole edge-padded sequences: (N, 16, 2) frames in sequence order ->
    (N, 16, 3) root-relative, identical in value to evaluating each (1, L + 2 pad, 16, 2)
    sequence alone. The padded stream is cut into chunks of ``chunk + 2 pad`` frames overlapping
    by 2 pad, so every output frame sees exactly its own window."""
    pad = (frames - 1) // 2
    stream, out_pos = padded_stream_rows(sequence, pad)
    chunk = max(TCN_CHUNK, 4 * frames)
    n_out = stream.shape[0] - 2 * pad
    n_chunks = -(-n_out // chunk)
    # Repeat the last stream row so the chunks tile it exactly (those outputs are discarded).
    tail = stream[-1:].expand(n_chunks * chunk + 2 * pad - stream.shape[0])
    x = pose2d[torch.cat([stream, tail])]                          # (M', 16, 2)
    windows = x.unfold(0, chunk + 2 * pad, chunk).permute(0, 3, 1, 2)  # (C, chunk + 2 pad, 16, 2)
    was_training = model.training
    model.eval()
    out = [_with_tta(model, windows[i:i + TCN_CHUNKS_PER_PASS], flip_tta).flatten(0, 1)
           for i in _my_blocks(n_chunks, TCN_CHUNKS_PER_PASS, ctx)]
    model.train(was_training)
    y = _gathered(out, ctx, pose2d.shape[1], pose2d)                  # (n_chunks * chunk, 16, 3)
    return root_relative(y[out_pos])


@torch.no_grad()
def predict_windows(model: torch.nn.Module, pose2d: torch.Tensor, sequence: torch.Tensor,
                    frames: int, flip_tta: bool = False,
                    ctx: DistContext | None = None) -> torch.Tensor:
    """A window model ((B, T, 16, 2) -> (B, 1, 16, 3)) on the edge-padded window of every frame,
    in order, ``EVAL_BATCH`` windows at a time -> (N, 16, 3) root-relative."""
    windows = VideoWindows(sequence, frames)
    was_training = model.training
    model.eval()
    out = []
    for start in _my_blocks(len(pose2d), EVAL_BATCH, ctx):
        idx = torch.arange(start, min(start + EVAL_BATCH, len(pose2d)), device=pose2d.device)
        y = _with_tta(model, pose2d[windows.rows(idx)], flip_tta)
        out.append(root_relative(y.reshape(len(idx), *y.shape[-2:])))
    model.train(was_training)
    return _gathered(out, ctx, pose2d.shape[1], pose2d)


def predict_video(model: torch.nn.Module, data: PoseSet, frames: int,
                  flip_tta: bool = False, ctx: DistContext | None = None) -> torch.Tensor:
    """(N, 16, 3) root-relative predictions of a video lifter for every frame of ``data``."""
    if data.sequence is None:
        raise ValueError("video evaluation needs per-row sequence ids (PoseSet.sequence)")
    if len(data) == 0:
        return data.pose2d.new_zeros(0, data.pose2d.shape[1], 3)
    if isinstance(model, DilatedTemporalLifter):
        if model.receptive_field != frames:
            raise ValueError(f"the TCN's receptive field is {model.receptive_field} frames, "
                             f"evaluation asked for {frames}")
        return predict_tcn_sequences(model, data.pose2d, data.sequence, frames, flip_tta, ctx)
    return predict_windows(model, data.pose2d, data.sequence, frames, flip_tta, ctx)


def _errors(model: torch.nn.Module, data: PoseSet, flip_tta: bool,
            frames: int | None = None, ctx: DistContext | None = None) -> tuple:
    if frames is None:
        pred = predict(model, data.pose2d, flip_tta, ctx) * 1000
    else:
        pred = predict_video(model, data, frames, flip_tta, ctx) * 1000
    target = root_relative(data.pose3d) * 1000
    return pred, target, metrics.mpjpe(pred, target), metrics.p_mpjpe(pred, target)


def evaluate_h36m(model: torch.nn.Module, data: PoseSet, frames: int | None = None,
                  ctx: DistContext | None = None) -> dict:
    """{'p1', 'p2', 'per_action': {name: {'p1', 'p2'}}, 'p1_action_mean', 'p2_action_mean'}.

    ``frames``: None for single-frame lifters, T for video lifters (see ``predict_video``).
    ``ctx``: shard the predictions over the ranks (module notes); every rank gets the result.
    """
    _, _, p1, p2 = _errors(model, data, flip_tta=False, frames=frames, ctx=ctx)
    k = len(data.action_names)
    a1 = metrics.per_group_mean(p1, data.action, k)
    a2 = metrics.per_group_mean(p2, data.action, k)
    present = ~torch.isnan(a1)
    per_action = {data.action_names[i]: {"p1": float(a1[i]), "p2": float(a2[i])}
                  for i in range(k) if present[i]}
    return {"p1": float(p1.double().mean()), "p2": float(p2.double().mean()),
            "per_action": per_action,
            "p1_action_mean": float(a1[present].mean()), "p2_action_mean": float(a2[present].mean())}


def evaluate_3dhp(model: torch.nn.Module, data: PoseSet, pck_joints: int = 16,
                  frames: int | None = None, ctx: DistContext | None = None) -> dict:
    """{'p1', 'p2', 'pck', 'auc'} with flip TTA; PCK/AUC over 16 joints or the standard 14.

    ``frames``, ``ctx`` as in ``evaluate_h36m`` (3DHP's six TS sequences are the pseudo-videos).
    """
    pred, target, p1, p2 = _errors(model, data, flip_tta=True, frames=frames, ctx=ctx)
    joints = EVAL_JOINTS_14 if pck_joints == 14 else None
    err = metrics.joint_errors(pred, target)
    return {"p1": float(p1.double().mean()), "p2": float(p2.double().mean()),
            "pck": float(metrics.pck(err, joints=joints)), "auc": float(metrics.auc(err, joints=joints))}
