"""The pose-net learning rate as a pure function of the epoch (FACTS §8), so resuming needs no
scheduler state: linear decay ``lr_p * (1 - e / (epochs + 1))`` for e <= epochs, then a factor
``additional_LR_decay`` per epoch."""
from __future__ import annotations


def lr_at_epoch(epoch: int, lr_p: float, epochs: int, decay: float) -> float:
    """Learning rate used while training epoch ``epoch`` (0-based)."""
    if epoch <= epochs:
        return lr_p * (1 - epoch / (epochs + 1))
    return lr_p / (epochs + 1) * decay ** (epoch - epochs)
