"""Dropout with a cheap mask on the CPU.

``nn.Dropout`` on the CPU draws one Bernoulli sample per element from the generator; for the
lifters' activations (a million or more elements per layer) that costs several times the layer's
matrix product (measured in docs/lifters.md#dropout). Here the 64 random bits of one ``random_``
draw serve several elements: each 8-bit lane (when p is a multiple of 1/256, as the lifters'
0.25 is) or 16-bit lane is compared with a threshold, so an element is kept with probability
exactly ``1 - p`` in the first case and ``1 - round(p * 2**16) / 2**16`` (within 7.7e-6) in the
second, and scaled by ``1 / (1 - p)`` as usual.
On other devices the fused ``F.dropout`` kernel is already fast and is used as is.
Both draw from the default torch generator of the input's device, like ``nn.Dropout``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_FULL_RANGE = -(1 << 63)       # random_(from=int64 min, to=None): all 64 bits uniform


def keep_flags(shape: torch.Size | tuple[int, ...], p: float, *,
               device: torch.device | str = "cpu",
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``shape`` bool tensor, each entry True (kept) with probability 1 - p (see above)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    numel = math.prod(int(size) for size in shape)
    lane = torch.uint8 if float(p * 256).is_integer() else torch.int16
    bits = torch.iinfo(lane).bits
    words = torch.empty(-(-numel * bits // 64), dtype=torch.int64, device=device)
    words.random_(_FULL_RANGE, None, generator=generator)
    lanes = words.view(lane)[:numel].view(shape)         # uniform on the lane type's range
    threshold = torch.iinfo(lane).min + round(p * (1 << bits))
    return lanes >= threshold


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, *, dtype: torch.dtype,
              device: torch.device | str = "cpu",
              generator: torch.Generator | None = None) -> torch.Tensor:
    """``shape`` tensor of 0 (dropped) or ``1 / (1 - p)`` (kept), for 0 <= p < 1."""
    flags = keep_flags(shape, p, device=device, generator=generator)
    return flags.to(dtype).mul_(1.0 / (1.0 - p))


class _ReLUDropout(torch.autograd.Function):
    """relu(x) * mask in one product: the mask folds in x > 0, so backward is one product too."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        mask = (keep & (x > 0)).to(x.dtype).mul_(scale)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None


class Dropout(nn.Module):
    """Drop-in for ``nn.Dropout(p)`` (no parameters, so state dicts are unchanged)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0 or x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        return x * keep_mask(x.shape, self.p, dtype=x.dtype, device=x.device)

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


class ReLUDropout(Dropout):
    """``Dropout(p)(relu(x))`` with ReLU's threshold folded into the dropout mask on the CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return torch.relu(x)
        if self.p == 1.0 or x.device.type != "cpu":
            return F.dropout(torch.relu(x), self.p, training=True)
        keep = keep_flags(x.shape, self.p, device=x.device)
        return _ReLUDropout.apply(x, keep, 1.0 / (1.0 - self.p))
