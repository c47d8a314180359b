"""Checkpoint files: written atomically and only when every value is finite; read safely
(``torch.load(weights_only=True)``: tensors and plain Python values only, no code runs) with one
clear error when something is wrong (docs/training.md#checkpoints)."""
from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from utils.finite import NonFiniteError, first_non_finite
from utils.io import DataError, atomic_write

TRUST_FLAG = "--trust_checkpoint True"


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """``torch.save`` to a temporary file, then rename: a crash never leaves a torn checkpoint.

    A state holding a NaN/inf tensor or float is refused (``NonFiniteError``) and the previous
    file is kept. The file is written through a Python handle so a full disk is an ``OSError``
    naming ``path`` (torch's own writer reports it as an anonymous RuntimeError).
    """
    bad = first_non_finite(state)
    if bad is not None:
        raise NonFiniteError(f"refusing to write {path}: {bad} is NaN or inf "
                             f"(the previous file, if any, is kept)")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
    return atomic_write(path, write)


def _refusal(path: Path, exc: Exception) -> str:
    """One line for a file a weights-only load refused, from torch's long message."""
    text = str(exc)
    found = re.search(r"GLOBAL (\S+)", text)
    if found:
        return (f"checkpoint {path} holds {found.group(1)}, which a safe load does not unpickle "
                f"(it could run code); if you trust where the file came from, pass {TRUST_FLAG}")
    detail = text.split("WeightsUnpickler error:")[-1].strip().splitlines()
    detail = detail[0].strip() if detail else "unreadable"
    return (f"cannot read checkpoint {path}: not a file a safe load can read ({detail}); if it is "
            f"an old-format checkpoint whose source you trust, pass {TRUST_FLAG}")


def load_checkpoint(path: str | os.PathLike, required: tuple[str, ...] = ("model_pos",),
                    trust: bool = False, map_location: Any = "cpu") -> dict:
    """Read a checkpoint dictionary and check that ``required`` keys are present.

    ``trust=False`` (the default) loads with ``weights_only=True``: a file that needs anything
    else (a pickled class, a numpy array, code) is refused with one line suggesting
    ``--trust_checkpoint True``; ``trust=True`` unpickles everything (only for files whose
    source the user trusts).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist" if not path.exists() else
                        f"checkpoint {path} is not a file")
    try:
        with warnings.catch_warnings():   # torch warns about pickle protocols: not for users
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=not trust)
    except pickle.UnpicklingError as exc:
        if not trust:
            raise DataError(_refusal(path, exc)) from None
        raise DataError(f"cannot read checkpoint {path}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # truncated zip, not a torch file, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read checkpoint {path}: {first}") from None
    if not isinstance(state, dict):
        raise DataError(f"{path} is not a checkpoint dictionary")
    missing = [k for k in required if k not in state]
    if missing:
        raise DataError(f"checkpoint {path} has no key(s) {missing}; found {sorted(state)}")
    return state


def state_dict_mismatch(own: dict, saved: dict) -> str | None:
    """A short account of how ``saved`` differs from ``own`` (keys and shapes), or None."""
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    shaped = [k for k in own if k in saved and hasattr(saved[k], "shape")
              and tuple(saved[k].shape) != tuple(own[k].shape)]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {missing[0]!r})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]!r})")
    if shaped:
        k = shaped[0]
        parts.append(f"{len(shaped)} of another shape (e.g. {k!r}: {tuple(saved[k].shape)} in the "
                     f"file, {tuple(own[k].shape)} here)")
    return ", ".join(parts) or None


def load_model_weights(model: torch.nn.Module, state_dict: dict, path: str | os.PathLike) -> None:
    """Load pose-net weights, naming the checkpoint (in one short line) when the architecture
    does not match."""
    diff = state_dict_mismatch(model.state_dict(), state_dict)
    if diff is not None:
        raise DataError(f"weights in {path} do not fit the pose net built from the flags "
                        f"(--posenet_name/--stages/--architecture): {diff}")
    model.load_state_dict(state_dict)
