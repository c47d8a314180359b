"""BatchNorm1d whose training statistics are shared by every rank of a process group.

torch's ``nn.SyncBatchNorm`` only runs on accelerators (CUDA, XPU, ...); CPU processes joined by
Gloo need this replacement so that an N-rank step normalises with the statistics of the whole
global batch, exactly as the 1-rank step does (see docs/distributed.md#batch-split).

Forward all-gathers one small buffer per layer: each rank's row count, per-channel mean and
centred sum of squares, combined by the parallel-variance formula (the same statistics as sum and
sum of squares, without their float32 cancellation when activations sit far from zero). Backward
all-reduces the per-channel sums of ``dy`` and ``dy * x_hat`` so each rank's input gradient uses
the global means. The weight and bias
gradients stay local: like every other parameter they are averaged afterwards by the explicit
gradient all-reduce (utils/distributed.py), under the convention that each rank backpropagates
its local mean loss, i.e. ``world_size`` times its share of the global loss.

State-dict names, running-stat updates (unbiased variance over the global count, the module's
momentum, cumulative average when momentum is None) and eval mode are those of BatchNorm1d.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.autograd.function import once_differentiable


def _channel_view(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(C,) -> (1, C) or (1, C, 1) to broadcast against a (N, C) or (N, C, L) input."""
    return t.reshape((1, -1) + (1,) * (dim - 2))


def _reduce_dims(x: torch.Tensor) -> list[int]:
    return [0] + list(range(2, x.dim()))


def _all_reduce(t: torch.Tensor, group, world_size: int) -> torch.Tensor:
    if world_size > 1:
        dist.all_reduce(t, group=group)
    return t


class _SyncBatchNormFunction(torch.autograd.Function):
    """Batch norm over the union of every rank's rows; (N, C) or (N, C, L), any N >= 0 per rank."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, factor, group, world_size):
        c, dims = x.shape[1], _reduce_dims(x)
        n = x.numel() // c
        local_mean = x.sum(dims) / max(n, 1)
        local_m2 = ((x - _channel_view(local_mean, x.dim())) ** 2).sum(dims)
        stats = torch.cat([local_mean, local_m2, x.new_full((1,), n)])
        if world_size > 1:
            parts = [torch.empty_like(stats) for _ in range(world_size)]
            dist.all_gather(parts, stats, group=group)
            stats = torch.stack(parts)                                   # (W, 2C + 1)
        else:
            stats = stats[None]
        counts = stats[:, -1:]
        count = float(counts.sum())
        if count < 2:
            raise ValueError(f"batch norm needs more than 1 value per channel when training, "
                             f"got {int(count)} over all ranks")
        mean = (counts * stats[:, :c]).sum(0) / count
        m2 = stats[:, c:2 * c].sum(0) + (counts * (stats[:, :c] - mean) ** 2).sum(0)
        var = m2 / count
        invstd = torch.rsqrt(var + eps)
        if running_mean is not None:
            running_mean.mul_(1 - factor).add_(mean.to(running_mean.dtype), alpha=factor)
            unbiased = m2 / (count - 1)
            running_var.mul_(1 - factor).add_(unbiased.to(running_var.dtype), alpha=factor)
        x_hat = (x - _channel_view(mean, x.dim())) * _channel_view(invstd, x.dim())
        y = x_hat if weight is None else x_hat * _channel_view(weight, x.dim())
        if bias is not None:
            y = y + _channel_view(bias, x.dim())
        ctx.save_for_backward(x_hat, invstd, weight)
        ctx.count, ctx.group, ctx.world_size = count, group, world_size
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        x_hat, invstd, weight = ctx.saved_tensors
        c, dims = dy.shape[1], _reduce_dims(dy)
        sum_dy = dy.sum(dims)
        sum_dy_xhat = (dy * x_hat).sum(dims)
        grad_x = None
        if ctx.needs_input_grad[0]:
            sums = _all_reduce(torch.cat([sum_dy, sum_dy_xhat]), ctx.group, ctx.world_size)
            mean_dy, mean_dy_xhat = sums[:c] / ctx.count, sums[c:] / ctx.count
            scale = invstd if weight is None else invstd * weight
            centred = dy - _channel_view(mean_dy, dy.dim()) \
                - x_hat * _channel_view(mean_dy_xhat, dy.dim())
            grad_x = centred * _channel_view(scale, dy.dim())
        grad_w = sum_dy_xhat if weight is not None and ctx.needs_input_grad[1] else None
        grad_b = sum_dy if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None, None, None, None, None, None


class SyncBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d synchronised over ``process_group`` (None: the default group) in training.

    Without an initialised process group it computes ordinary batch norm with the same
    formulas (world size 1). Eval mode is BatchNorm1d's. Inputs (N, C) or (N, C, L).
    """

    def __init__(self, *args, process_group=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.process_group = process_group

    def _world_size(self) -> int:
        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(self.process_group)
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return _SyncBatchNormFunction.apply(x, self.weight, self.bias, running_mean, running_var,
                                            self.eps, factor, self.process_group,
                                            self._world_size())

    @classmethod
    def from_batchnorm(cls, bn: nn.BatchNorm1d, process_group=None) -> "SyncBatchNorm1d":
        """A SyncBatchNorm1d sharing ``bn``'s parameters and buffers (optimisers keep working)."""
        out = cls(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats,
                  process_group=process_group)
        out.weight, out.bias = bn.weight, bn.bias
        if bn.track_running_stats:
            out.running_mean, out.running_var = bn.running_mean, bn.running_var
            out.num_batches_tracked = bn.num_batches_tracked
        out.train(bn.training)
        return out


def convert_batchnorm1d(module: nn.Module, process_group=None) -> nn.Module:
    """Replace every BatchNorm1d inside ``module`` (in place) by a SyncBatchNorm1d.

    Returns ``module``, or the replacement when ``module`` itself is a BatchNorm1d. Other batch
    norms (2D, 3D) raise ValueError: no model here uses them and they would stay unsynchronised.
    """
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and \
            not isinstance(module, SyncBatchNorm1d):
        if type(module) is not nn.BatchNorm1d:
            raise ValueError(f"only BatchNorm1d can be synchronised on the CPU, "
                             f"got {type(module).__name__}")
        return SyncBatchNorm1d.from_batchnorm(module, process_group)
    for name, child in module.named_children():
        converted = convert_batchnorm1d(child, process_group)
        if converted is not child:
            setattr(module, name, converted)
    return module
