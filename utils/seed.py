"""Seeding and capture/restore of every random state a run touches, for exact --resume."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Global torch/CUDA/numpy/python seeds (model init, dropout) and deterministic cuDNN."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def make_generator(seed: int, stream: int) -> torch.Generator:
    """An explicit CPU generator for one consumer (stream 0: lifter batches, 1: augmentation)."""
    return torch.Generator().manual_seed(seed * 1000003 + stream)


def global_rng_state() -> dict:
    """The global torch/numpy/python (and CUDA) RNG states as tensors and plain Python values,
    so a checkpoint holding them loads with ``torch.load(weights_only=True)``."""
    numpy_state = np.random.get_state(legacy=False)   # {'state': {'key': uint32 (624,), ...}, ...}
    numpy_state["state"]["key"] = torch.from_numpy(numpy_state["state"]["key"].astype(np.int64))
    state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: dict) -> None:
    """Restore :func:`global_rng_state` exactly (also the older form holding numpy's tuple)."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        key = numpy_state["state"]["key"]
        key = key.numpy() if isinstance(key, torch.Tensor) else np.asarray(key)
        inner = {**numpy_state["state"], "key": key.astype(np.uint32)}
        numpy_state = {**numpy_state, "state": inner}
    np.random.set_state(numpy_state)
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
