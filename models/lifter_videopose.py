"""VideoPose3D temporal convolutional lifter (Pavllo et al., CVPR 2019).

Two forms share one set of layers (identical state dicts, no stride/dilation in them):

* ``StridedTemporalLifter`` (training): each conv of width w has stride w, so a window of exactly
  the receptive field rf = prod(widths) gives one output frame without computing unused ones.
* ``DilatedTemporalLifter`` (evaluation): conv i >= 1 is dilated by prod(widths[:i]), so a
  sequence of F frames gives the F - rf + 1 frames whose whole window is inside it.

Both map (N, F, J, 2) -> (N, F_out, J_out, 3).  ``VideoPoseLifter`` is the single-frame variant
(all widths 1, 15 joints predicted, zero root) with the (B, 2J) / (B, J, 2) -> (B, J, 3) API.
Layer names follow VideoPose3D so its checkpoints (and PoseAug's single-frame ones) load unchanged.

The layers are ``nn.Conv1d``/``nn.BatchNorm1d`` modules only to hold VideoPose3D's parameters.
The strided form computes in a channels-last (N, L, C) layout: a width-w, stride-w convolution
is a reshape of w consecutive frames into one row plus one matrix product with the weight
flattened frame-major, (out, in, w) -> (out, w * in), and batch norm runs on the (N * L, C) rows
(the same statistics as over (N, C, L)).  This is the same arithmetic as the convolution, but
as large GEMMs instead of convolution kernels on very short sequences (on CPU the single-frame
lifter trains 3-4x faster, as fast as the MLP of the same shapes).  The dilated form stays a
convolution: on whole sequences the kernels are as fast as an im2col GEMM, without its copy
(``bench/bench_lifters.py`` times both; see docs/lifters.md#videopose).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from models.dropout import ReLUDropout
from models.lifter_common import pad_root, single_frame_input, window_input
from utils.skeleton import NUM_JOINTS


def check_filter_widths(widths: Sequence[int]) -> tuple[int, ...]:
    """Widths must be a non-empty sequence of positive odd integers (symmetric windows)."""
    widths = tuple(int(w) for w in widths)
    if not widths or any(w < 1 or w % 2 == 0 for w in widths):
        raise ValueError(f"filter widths must be positive odd integers, got {widths}")
    return widths


class _TemporalConvLifter(nn.Module):
    """Layers of the TCN; subclasses compute it (strided GEMMs or dilated convolutions).

    expand: Conv1d(2J -> C, k=w0, no bias) -> BN -> ReLU -> Dropout
    block i >= 1: Conv1d(C -> C, k=w_i, no bias) -> BN -> ReLU -> Dropout -> Conv1d(C -> C, k=1,
    no bias) -> BN -> ReLU -> Dropout, plus the aligned input; shrink: Conv1d(C -> 3 J_out, k=1).
    BN momentum 0.1.
    """

    def __init__(self, filter_widths: Sequence[int], num_joints_in: int = NUM_JOINTS,
                 num_joints_out: int = NUM_JOINTS, channels: int = 1024,
                 dropout: float = 0.25) -> None:
        super().__init__()
        self.filter_widths = check_filter_widths(filter_widths)
        self.num_joints_in = num_joints_in
        self.num_joints_out = num_joints_out
        widths = self.filter_widths
        self.expand_conv = nn.Conv1d(2 * num_joints_in, channels, widths[0], bias=False,
                                     **self._conv_options(0))
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        convs, norms = [], []
        for i in range(1, len(widths)):
            convs.append(nn.Conv1d(channels, channels, widths[i], bias=False, **self._conv_options(i)))
            norms.append(nn.BatchNorm1d(channels, momentum=0.1))
            convs.append(nn.Conv1d(channels, channels, 1, bias=False))
            norms.append(nn.BatchNorm1d(channels, momentum=0.1))
        self.layers_conv = nn.ModuleList(convs)
        self.layers_bn = nn.ModuleList(norms)
        self.shrink = nn.Conv1d(channels, 3 * num_joints_out, 1)
        self.drop = ReLUDropout(dropout)             # ReLU then dropout

    @property
    def receptive_field(self) -> int:
        """Frames of input behind one output frame: the product of the widths."""
        return math.prod(self.filter_widths)

    def _conv_options(self, i: int) -> dict:
        raise NotImplementedError

    def _check_frames(self, frames: int) -> None:
        raise NotImplementedError

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        """(N, F, 2 J_in) channels-last frames -> (N, F_out, 3 J_out)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, F, J_in, 2) -> (N, F_out, J_out, 3)."""
        x = window_input(x, self.num_joints_in)
        n, frames = x.shape[:2]
        self._check_frames(frames)
        out = self._trunk(x.reshape(n, frames, 2 * self.num_joints_in))
        return out.reshape(n, out.shape[1], self.num_joints_out, 3)


def strided_conv_as_linear(h: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """A width-w, stride-w ``conv`` on channels-last frames as one GEMM: (N, L, in) -> (N, L/w, out).

    Row t of the result reads frames t*w .. t*w+w-1, i.e. ``(N, L/w, w * in)`` rows, against the
    weight reordered (out, in, w) -> (out, w, in) -> (out, w * in) (a view when w = 1).
    """
    out_ch, in_ch, width = conv.weight.shape
    weight = conv.weight.transpose(1, 2).reshape(out_ch, width * in_ch)
    return F.linear(h.reshape(h.shape[0], -1, width * in_ch), weight, conv.bias)


class StridedTemporalLifter(_TemporalConvLifter):
    """Training form: F must be a multiple of rf; each block of rf frames gives one output
    (F = rf: one window -> (N, 1, J_out, 3)).  Computed as GEMMs in (N, L, C) layout."""

    def _conv_options(self, i: int) -> dict:
        return {"stride": self.filter_widths[i]}

    def _check_frames(self, frames: int) -> None:
        if frames == 0 or frames % self.receptive_field:
            raise ValueError(f"strided TCN needs a multiple of its receptive field "
                             f"{self.receptive_field} frames, got {frames}")

    def _layer(self, h: torch.Tensor, conv: nn.Conv1d, bn: nn.BatchNorm1d) -> torch.Tensor:
        """Drop(ReLU(BN(conv(h)))) for (N, L, C) frames."""
        y = strided_conv_as_linear(h, conv)
        return self.drop(bn(y.reshape(-1, y.shape[-1]))).reshape(y.shape)

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = self._layer(h, self.expand_conv, self.expand_bn)
        for i in range(1, len(self.filter_widths)):
            w = self.filter_widths[i]
            res = h[:, w // 2::w]
            h = self._layer(h, self.layers_conv[2 * i - 2], self.layers_bn[2 * i - 2])
            h = res + self._layer(h, self.layers_conv[2 * i - 1], self.layers_bn[2 * i - 1])
        return strided_conv_as_linear(h, self.shrink)


class DilatedTemporalLifter(_TemporalConvLifter):
    """Evaluation form: F >= rf frames -> F - rf + 1 outputs (output t sees input t .. t+rf-1).
    Computed with dilated convolutions in (N, C, L) layout."""

    def _conv_options(self, i: int) -> dict:
        return {"dilation": math.prod(self.filter_widths[:i])} if i > 0 else {}

    def _check_frames(self, frames: int) -> None:
        if frames < self.receptive_field:
            raise ValueError(f"dilated TCN needs at least its receptive field "
                             f"{self.receptive_field} frames, got {frames}")

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = h.transpose(1, 2)
        h = self.drop(self.expand_bn(self.expand_conv(h)))
        for i in range(1, len(self.filter_widths)):
            pad = (self.filter_widths[i] - 1) * math.prod(self.filter_widths[:i]) // 2
            res = h[:, :, pad:h.shape[2] - pad]
            h = self.drop(self.layers_bn[2 * i - 2](self.layers_conv[2 * i - 2](h)))
            h = res + self.drop(self.layers_bn[2 * i - 1](self.layers_conv[2 * i - 1](h)))
        return self.shrink(h).transpose(1, 2)


class VideoPoseLifter(StridedTemporalLifter):
    """Single-frame VPose: widths all 1 (``stages`` residual blocks), 15 joints predicted, zero root.

    (B, 2J) or (B, J, 2) normalised 2D -> (B, J, 3) metres.
    """

    def __init__(self, stages: int = 4, num_joints: int = NUM_JOINTS, channels: int = 1024,
                 dropout: float = 0.25) -> None:
        super().__init__((1,) * (stages + 1), num_joints_in=num_joints,
                         num_joints_out=num_joints - 1, channels=channels, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = single_frame_input(x, self.num_joints_in)
        y = super().forward(x.unsqueeze(1))
        return pad_root(y[:, 0])
