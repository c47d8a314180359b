"""Semantic graph convolution (Zhao et al., CVPR 2019) and the skeleton adjacency it uses.

Each layer learns one logit per non-zero of a fixed adjacency mask; the logits are
row-softmaxed into a weighting matrix A (masked entries get -9e15, i.e. weight 0).  The node
itself and its neighbours use separate weight matrices:
``out = (A * I) X W0 + (A * (1 - I)) X W1 + b``.
Computed node-major, (J, M, C), so that each term is a single matrix product
(see docs/lifters.md#gcn).
"""
from __future__ import annotations

import contextlib
import math
from typing import Sequence

import torch
from torch import nn

_MASKED_LOGIT = -9e15


def adjacency_from_parents(parents: Sequence[int]) -> torch.Tensor:
    """(J, J) bool mask of the skeleton graph: parent-child edges both ways plus self loops."""
    n = len(parents)
    mask = torch.eye(n, dtype=torch.bool)
    child = torch.tensor([j for j, p in enumerate(parents) if p >= 0], dtype=torch.long)
    parent = torch.tensor([p for p in parents if p >= 0], dtype=torch.long)
    mask[child, parent] = True
    mask[parent, child] = True
    return mask


class SemGraphConv(nn.Module):
    """(B, J, in) node features -> (B, J, out).

    Parameters: ``W`` (2, in, out) Xavier-uniform (gain 1.414), ``e`` (1, nnz) logits (init 1,
    row-major order of the mask's non-zeros), ``bias`` (out,) ~ U(+-1/sqrt(out)).
    The mask is a non-persistent buffer, so the state dict holds only W, e and bias.
    """

    reseeds_itself = True  # init_lifter_weights(generator=...) calls reset_parameters(generator)

    def __init__(self, in_features: int, out_features: int, adjacency: torch.Tensor,
                 bias: bool = True) -> None:
        super().__init__()
        mask = adjacency.to(torch.bool)
        if mask.dim() != 2 or mask.shape[0] != mask.shape[1]:
            raise ValueError(f"adjacency must be a square (J, J) matrix, got {tuple(adjacency.shape)}")
        if not bool(mask.diagonal().all()):
            raise ValueError("adjacency must contain every self loop (each softmax row needs an entry)")
        self.in_features = in_features
        self.out_features = out_features
        rows, cols = mask.nonzero(as_tuple=True)
        self.register_buffer("edge_rows", rows, persistent=False)
        self.register_buffer("edge_cols", cols, persistent=False)
        self.register_buffer("mask", mask, persistent=False)
        self.register_buffer("eye", torch.eye(mask.shape[0], dtype=torch.bool), persistent=False)
        self.W = nn.Parameter(torch.empty(2, in_features, out_features))
        self.e = nn.Parameter(torch.empty(1, rows.numel()))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-draw W and bias (from ``generator`` if given) and set every logit to 1."""
        nn.init.xavier_uniform_(self.W, gain=1.414, generator=generator)
        nn.init.constant_(self.e, 1.0)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.out_features)
            nn.init.uniform_(self.bias, -bound, bound, generator=generator)

    def weighting(self) -> torch.Tensor:
        """(J, J) row-stochastic matrix A; zero outside the mask."""
        n = self.mask.shape[0]
        logits = self.e.new_full((n, n), _MASKED_LOGIT)
        logits = logits.index_put((self.edge_rows, self.edge_cols), self.e.reshape(-1))
        return torch.softmax(logits, dim=1)

    def forward_nodes(self, x: torch.Tensor) -> torch.Tensor:
        """Node-major (J, M, in) -> (J, M, out): the layout in which every term is one product.

        Self term: a batched product with the per-node weights diag(A)_j * W0 (J small
        (in, out) matrices, bias added in the same call); neighbour term: ``X W1`` as one
        (J*M, in) x (in, out) GEMM, mixed by a (J, J) x (J, M*out) product added in place.
        A is recomputed from ``e`` on every call (nothing goes stale after an optimiser step).
        Under autocast the inputs are cast to its dtype first (products in bf16, as autocast
        would run them).
        """
        a = self.weighting()
        device = x.device.type
        autocasting = torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device)
        dtype = torch.get_autocast_dtype(device) if autocasting else x.dtype
        operands = (x, self.W[0] * a.diagonal()[:, None, None], self.W[1],
                    a.masked_fill(self.eye, 0.0), self.bias)
        operands = tuple(t if t is None else t.to(dtype) for t in operands)
        with torch.autocast(device, enabled=False) if autocasting else contextlib.nullcontext():
            return _NodeMajorGraphConv.apply(*operands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., J, in) -> (..., J, out); stacks in models keep node-major data (forward_nodes)."""
        lead = x.shape[:-2]
        nodes = x.movedim(-2, 0).reshape(x.shape[-2], -1, self.in_features)
        out = self.forward_nodes(nodes).reshape(x.shape[-2], *lead, self.out_features)
        return out.movedim(0, -2)

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, edges={self.e.shape[1]}"


class _NodeMajorGraphConv(torch.autograd.Function):
    """out_j = X_j S_j + b + sum_k N_jk (X W1)_k on node-major (J, M, C) data, with a backward
    of plain products (no autograd bookkeeping of the in-place mix).

    x (J, M, in); self_weights S (J, in, out); w1 (in, out); mix N (J, J) with a zero diagonal;
    bias (out,) or None.
    """

    @staticmethod
    def forward(ctx, x, self_weights, w1, mix, bias):
        j, m, _ = x.shape
        h_neigh = torch.mm(x.reshape(j * m, -1), w1)
        out = torch.bmm(x, self_weights) if bias is None else torch.baddbmm(bias, x, self_weights)
        out.view(j, -1).addmm_(mix, h_neigh.view(j, -1))
        ctx.save_for_backward(x, self_weights, w1, mix, h_neigh)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, self_weights, w1, mix, h_neigh = ctx.saved_tensors
        need_x, need_self, need_w1, need_mix, need_bias = ctx.needs_input_grad
        j, m, c_in = x.shape
        grad = grad.contiguous()
        grad_nodes = grad.view(j, -1)
        grad_neigh = torch.mm(mix.t(), grad_nodes).view(j * m, -1)     # d out / d (X W1)
        grad_x = grad_self = grad_w1 = grad_mix = grad_bias = None
        if need_x:
            grad_x = torch.bmm(grad, self_weights.transpose(1, 2))
            grad_x.view(j * m, c_in).addmm_(grad_neigh, w1.t())
        if need_self:
            grad_self = torch.bmm(x.transpose(1, 2), grad)
        if need_w1:
            grad_w1 = torch.mm(x.reshape(j * m, c_in).t(), grad_neigh)
        if need_mix:
            grad_mix = torch.mm(grad_nodes, h_neigh.view(j, -1).t())
        if need_bias:                       # False when bias is None
            grad_bias = grad.sum((0, 1))
        return grad_x, grad_self, grad_w1, grad_mix, grad_bias
