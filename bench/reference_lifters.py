"""The lifter forms used before the GEMM rewrite, kept as references for bench/bench_lifters.py:
the same weights computed as ``Conv1d`` modules (channels first), SemGCN batch-major with batch
norm on transposed features, and the dilated evaluation TCN as one im2col GEMM per layer.
The references use ``nn.Dropout`` (one Bernoulli draw per element), as the lifters did before
models/dropout.py."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.lifter_gcn import SemGCNLifter
from models.lifter_videopose import DilatedTemporalLifter, StridedTemporalLifter, VideoPoseLifter


class _ConvTrunk:
    """The TCN as Conv1d modules on (N, C, L) features: the form before the GEMM rewrite."""

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.expand_bn(self.expand_conv(h.transpose(1, 2)))))
        for i in range(1, len(self.filter_widths)):
            w = self.filter_widths[i]
            res = h[:, :, w // 2::w]
            h = self.drop(torch.relu(self.layers_bn[2 * i - 2](self.layers_conv[2 * i - 2](h))))
            h = res + self.drop(torch.relu(self.layers_bn[2 * i - 1](self.layers_conv[2 * i - 1](h))))
        return self.shrink(h).transpose(1, 2)


class ConvStridedTCN(_ConvTrunk, StridedTemporalLifter):
    """Reference strided TCN (convolutions with stride = width)."""


class ConvVideoPose(_ConvTrunk, VideoPoseLifter):
    """Reference single-frame VideoPose (1x1 convolutions on length-1 sequences)."""


class GemmDilatedTCN(DilatedTemporalLifter):
    """Alternative evaluation TCN: each dilated convolution as im2col + one GEMM, (N, L, C)."""

    @staticmethod
    def _conv(h: torch.Tensor, conv: nn.Conv1d, dilation: int) -> torch.Tensor:
        width = conv.weight.shape[2]
        cols = h.unfold(1, (width - 1) * dilation + 1, 1)[..., ::dilation]   # (N, L', C, w)
        return F.linear(cols.reshape(*cols.shape[:2], -1), conv.weight.flatten(1), conv.bias)

    def _layer(self, h, conv, bn, dilation):
        y = self._conv(h, conv, dilation)
        return self.drop(torch.relu(bn(y.reshape(-1, y.shape[-1])).reshape(y.shape)))

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = self._layer(h, self.expand_conv, self.expand_bn, 1)
        for i in range(1, len(self.filter_widths)):
            dilation = math.prod(self.filter_widths[:i])
            pad = (self.filter_widths[i] - 1) * dilation // 2
            res = h[:, pad:h.shape[1] - pad]
            h = self._layer(h, self.layers_conv[2 * i - 2], self.layers_bn[2 * i - 2], dilation)
            h = res + self._layer(h, self.layers_conv[2 * i - 1], self.layers_bn[2 * i - 1], 1)
        return self._conv(h, self.shrink, 1)


class BatchMajorSemGCN(nn.Module):
    """Reference SemGCN forward on (B, J, C) features (the form before the rewrite), sharing
    the parameters of ``model``: per layer a scattered-logit softmax, X W0 and X W1, a batched
    (J, J) mix, and batch norm on transposed (B, C, J) features; act = ReLU, Dropout, ReLU."""

    def __init__(self, model: SemGCNLifter) -> None:
        super().__init__()
        self.model = model

    @staticmethod
    def _gconv(layer, x: torch.Tensor) -> torch.Tensor:
        a = layer.weighting()
        self_weight = a.diagonal()
        out = self_weight.unsqueeze(-1) * torch.matmul(x, layer.W[0])
        return out + torch.matmul(a - torch.diag(self_weight), torch.matmul(x, layer.W[1])) + layer.bias

    def _block(self, block, x: torch.Tensor) -> torch.Tensor:
        x = block.bn(self._gconv(block.gconv, x).transpose(1, 2)).transpose(1, 2)
        if block.dropout is not None:
            x = F.dropout(torch.relu(x), block.dropout.p, block.training)
        return torch.relu(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self._block(self.model.gconv_input[0], x.reshape(x.shape[0], -1, 2))
        for res in self.model.gconv_layers:
            h = h + self._block(res.gconv2, self._block(res.gconv1, h))
        return self._gconv(self.model.gconv_output, h)


def reference_of(model: nn.Module) -> nn.Module | None:
    """The pre-rewrite form of ``model`` holding the same weights, or None if it has none."""
    if isinstance(model, SemGCNLifter):
        return BatchMajorSemGCN(model)
    if isinstance(model, VideoPoseLifter):
        ref = ConvVideoPose(stages=len(model.filter_widths) - 1,
                            channels=model.expand_conv.out_channels)
    elif isinstance(model, StridedTemporalLifter):
        ref = ConvStridedTCN(model.filter_widths, channels=model.expand_conv.out_channels)
    else:
        return None
    ref.load_state_dict(model.state_dict())
    ref.drop = nn.Dropout(model.drop.p)          # the per-element Bernoulli dropout of before
    return ref


# ----------------------------------------------------------------------------- timing
