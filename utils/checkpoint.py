"""Checkpoint files: written atomically, read with one clear error when something is wrong."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from utils.io import DataError, atomic_write


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """``torch.save`` to a temporary file, then rename: a crash never leaves a torn checkpoint."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, required: tuple[str, ...] = ("model_pos",),
                    map_location: Any = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise DataError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(state, dict):
        raise DataError(f"{path} is not a checkpoint dictionary")
    missing = [k for k in required if k not in state]
    if missing:
        raise DataError(f"checkpoint {path} has no key(s) {missing}; found {sorted(state)}")
    return state


def load_model_weights(model: torch.nn.Module, state_dict: dict, path: str | os.PathLike) -> None:
    """Load pose-net weights, naming the checkpoint when the architecture does not match."""
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0:3]
        raise DataError(f"weights in {path} do not fit the pose net built from the flags "
                        f"(--posenet_name/--stages/--architecture): {' '.join(first)}") from None
