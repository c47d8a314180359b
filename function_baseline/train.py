"""One pose-net training pass over a PoseSet (FACTS §8 ``train_posenet``)."""
from __future__ import annotations

import argparse

import torch
from tqdm import tqdm

from function_baseline.pose_set import PoseSet, batch_indices
from utils.skeleton import flip_pose, root_relative


def _step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
          target: torch.Tensor, max_norm: bool) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(inputs), target)
    loss.backward()
    if max_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    return loss.detach()


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, data: PoseSet,
                args: argparse.Namespace, generator: torch.Generator, desc: str = "train") -> dict:
    """Shuffle with ``generator``, then per batch an MSE step on root-relative camera 3D (metres)
    and, with ``--flip_pos_model_input``, a second step on the mirrored input and target.

    A final batch of one sample is skipped (batch norm cannot train on it, as in the original).
    Returns the mean losses.
    """
    model.train()
    device = data.pose2d.device
    total = torch.zeros((), device=device)
    total_flip = torch.zeros((), device=device)
    seen = 0
    batches = batch_indices(len(data), args.batch_size, generator, shuffle=True)
    n_batches = -(-len(data) // args.batch_size)
    for idx in tqdm(batches, total=n_batches, desc=desc, leave=False, dynamic_ncols=True):
        if len(idx) < 2:
            break
        idx = idx.to(device)
        inputs = data.pose2d[idx]
        target = root_relative(data.pose3d[idx])
        total += _step(model, optimizer, inputs, target, args.max_norm) * len(idx)
        if args.flip_pos_model_input:
            total_flip += _step(model, optimizer, flip_pose(inputs), flip_pose(target),
                                args.max_norm) * len(idx)
        seen += len(idx)
    seen = max(seen, 1)
    return {"loss": float(total) / seen, "loss_flip": float(total_flip) / seen}
