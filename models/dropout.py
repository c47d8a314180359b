"""Dropout with a cheap mask on the CPU.

``nn.Dropout`` on the CPU draws one Bernoulli sample per element from the generator; for the
lifters' activations (a million or more elements per layer) that costs several times the layer's
matrix product (measured in docs/lifters.md#dropout). Here the random bits of ``random_`` draws
serve several elements:

* p = 1/4, 1/2 or 3/4 (the lifters' 0.25): two (or one) random *bit planes*, combined with one
  bitwise operation, give each element one keep bit with probability exactly ``1 - p``
  (2 random bits per element instead of 8; the bits are unpacked through a 256-entry table);
* other multiples of 1/256: each 8-bit lane of a 64-bit draw is compared with a threshold
  (keep probability exactly ``1 - p``);
* any other p: 16-bit lanes, keep probability ``1 - round(p * 2**16) / 2**16`` (within 7.7e-6).

Kept elements are scaled by ``1 / (1 - p)`` as usual.
On other devices the fused ``F.dropout`` kernel is already fast and is used as is.
Both draw from the default torch generator of the input's device, like ``nn.Dropout``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_FULL_RANGE = -(1 << 63)       # random_(from=int64 min, to=None): all 64 bits uniform


def _bit_table(dtype: torch.dtype, on: float, device: torch.device | str) -> torch.Tensor:
    """(256, 8) table: row b holds the 8 bits of b, lowest first, as 0 or ``on``."""
    bits = (torch.arange(256, device=device)[:, None] >> torch.arange(8, device=device)) & 1
    return bits.to(dtype) if dtype == torch.bool else bits.to(dtype).mul_(on)


def _unpack_bits(words: torch.Tensor, numel: int, table: torch.Tensor) -> torch.Tensor:
    """(numel,) entries of ``table`` for the bits of int64 ``words``: bit k of byte i -> 8 i + k."""
    return table.index_select(0, words.view(torch.uint8).int()).view(-1)[:numel]


def _plane_bits(numel: int, p: float, device: torch.device | str,
                generator: torch.Generator | None) -> torch.Tensor | None:
    """int64 words with one keep bit per element (P = 1 - p) for p in {1/4, 1/2, 3/4}, else None."""
    quarters = p * 4
    if quarters not in (1.0, 2.0, 3.0):
        return None
    planes = torch.empty(1 if quarters == 2.0 else 2, -(-numel // 64), dtype=torch.int64,
                         device=device)
    planes.random_(_FULL_RANGE, None, generator=generator)
    if quarters == 1.0:
        return planes[0] | planes[1]          # kept unless both bits are 0: 3/4
    if quarters == 3.0:
        return planes[0] & planes[1]          # kept only if both are 1: 1/4
    return planes[0]


def _lane_flags(shape: torch.Size | tuple[int, ...], numel: int, p: float,
                device: torch.device | str, generator: torch.Generator | None) -> torch.Tensor:
    """Keep flags from 8-bit (p a multiple of 1/256) or 16-bit lanes compared with a threshold."""
    lane = torch.uint8 if float(p * 256).is_integer() else torch.int16
    bits = torch.iinfo(lane).bits
    words = torch.empty(-(-numel * bits // 64), dtype=torch.int64, device=device)
    words.random_(_FULL_RANGE, None, generator=generator)
    lanes = words.view(lane)[:numel].view(shape)         # uniform on the lane type's range
    return lanes >= torch.iinfo(lane).min + round(p * (1 << bits))


def _keep(shape: torch.Size | tuple[int, ...], p: float, dtype: torch.dtype,
          device: torch.device | str, generator: torch.Generator | None) -> torch.Tensor:
    """``shape`` tensor, kept with probability 1 - p: True/False for bool, else 1/(1 - p) or 0."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    on = 1.0 / (1.0 - p)
    numel = math.prod(int(size) for size in shape)
    plane = _plane_bits(numel, p, device, generator)
    if plane is not None:                       # bit planes unpack straight to ``dtype``
        return _unpack_bits(plane, numel, _bit_table(dtype, on, device)).view(shape)
    flags = _lane_flags(shape, numel, p, device, generator)
    return flags if dtype == torch.bool else flags.to(dtype).mul_(on)


def keep_flags(shape: torch.Size | tuple[int, ...], p: float, *,
               device: torch.device | str = "cpu",
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``shape`` bool tensor, each entry True (kept) with probability 1 - p (see above)."""
    return _keep(shape, p, torch.bool, device, generator)


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, *, dtype: torch.dtype,
              device: torch.device | str = "cpu",
              generator: torch.Generator | None = None) -> torch.Tensor:
    """``shape`` tensor of 0 (dropped) or ``1 / (1 - p)`` (kept), for 0 <= p < 1: the same draws
    and the same mask as ``keep_flags``."""
    return _keep(shape, p, dtype, device, generator)


class _ReLUDropout(torch.autograd.Function):
    """relu(x) * mask, mask = 0 or ``scale``. The output is saved: its zeros are exactly where the
    gradient is 0 (x <= 0 or dropped) and elsewhere the gradient is ``scale`` times the incoming
    one, so backward needs no mask of its own."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
        out = x.clamp_min(0.0).mul_(mask)
        ctx.save_for_backward(out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (out,) = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(grad, out, 0.0).mul_(ctx.scale), None, None


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
    """``Dropout(p)(relu(x))``; on the CPU a clamp and one product, and a backward that reads
    only the output (see ``_ReLUDropout``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return torch.relu(x)
        if self.p == 1.0 or x.device.type != "cpu":
            return F.dropout(torch.relu(x), self.p, training=True)
        mask = keep_mask(x.shape, self.p, dtype=x.dtype, device=x.device)
        return _ReLUDropout.apply(x, mask, 1.0 / (1.0 - self.p))
