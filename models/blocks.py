"""Building blocks shared by the generator, the critics and the lifters.

* :class:`ResBlock` - the GAN networks' residual pair of Linear layers.
* :class:`ResidualLinearBlock` - the SimpleBaseline lifter's block (Linear-BN-ReLU-Dropout twice).
* :func:`init_linear_layers_` - PyTorch's default Linear law, drawn from an explicit generator
  (GAN networks: reproducible without touching the global RNG).
* :func:`init_lifter_weights` - Kaiming-normal on Linear weights (the lifters' init, see
  docs/lifters.md#initialisation).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.dropout import ReLUDropout


class ResBlock(nn.Module):
    """``y = ReLU(fc2(ReLU(fc1(x))) + x)`` with two Linear(D, D) layers; (..., D) -> (..., D)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc2(torch.relu(self.fc1(x))) + x)


class ResidualLinearBlock(nn.Module):
    """x + Drop(ReLU(BN(Linear(Drop(ReLU(BN(Linear(x)))))))) for (B, W) features.

    Attribute names (``w1``, ``batch_norm1``, ...) are PoseAug's, so its checkpoints load.
    """

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.w1 = nn.Linear(width, width)
        self.batch_norm1 = nn.BatchNorm1d(width)
        self.w2 = nn.Linear(width, width)
        self.batch_norm2 = nn.BatchNorm1d(width)
        self.dropout = ReLUDropout(dropout)          # ReLU then dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.batch_norm1(self.w1(x)))
        y = self.dropout(self.batch_norm2(self.w2(y)))
        return x + y


def residual_branch(in_dim: int, width: int, blocks: int = 3) -> nn.Sequential:
    """``Linear(in, W) + ReLU`` then ``blocks`` x :class:`ResBlock` (the critics' branch shape)."""
    return nn.Sequential(nn.Linear(in_dim, width), nn.ReLU(), *(ResBlock(width) for _ in range(blocks)))


def _uniform_bias_(bias: torch.Tensor, fan_in: int, generator: torch.Generator | None) -> None:
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    nn.init.uniform_(bias, -bound, bound, generator=generator)


def init_linear_layers_(module: nn.Module, generator: torch.Generator | None) -> nn.Module:
    """Re-draw every ``nn.Linear`` with PyTorch's default distribution, from ``generator``.

    Same law as ``nn.Linear.reset_parameters`` (weight Kaiming-uniform a=sqrt(5), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same bound) but reproducible from an explicit
    generator instead of the global RNG. Returns ``module``.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    _uniform_bias_(layer.bias, layer.in_features, generator)
    return module


def init_lifter_weights(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """Kaiming-normal (fan-in, gain sqrt 2) on every ``nn.Linear`` weight; other layers keep theirs.

    Without ``generator`` only the Linear weights are re-drawn, from the global RNG (the
    original's behaviour). With a (CPU) ``generator`` every random parameter is re-drawn from
    it with its layer's usual distribution (a layer with a ``reset_parameters(generator)`` method,
    such as the graph convolution, re-draws itself), so the result depends on the generator alone.
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu",
                                    generator=generator)
            if generator is not None and module.bias is not None:
                _uniform_bias_(module.bias, module.in_features, generator)
        elif generator is None:
            continue
        elif isinstance(module, nn.Conv1d):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                _uniform_bias_(module.bias, module.weight.shape[1] * module.weight.shape[2],
                               generator)
        elif getattr(module, "reseeds_itself", False):
            module.reset_parameters(generator)
