"""Device selection in one place: ``auto`` picks CUDA when present, CPU otherwise."""
from __future__ import annotations

import torch

from utils.io import DataError


def resolve_device(name: str, gpu_id: str = "0") -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | any torch device string -> torch.device.

    ``gpu_id`` (the original's flag; '0,1' uses the first) picks the CUDA index for ``auto`` and
    ``cuda``. Asking for CUDA where there is none is a DataError, not a deep traceback.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DataError(f"--device {name!r} is not a torch device (use auto, cpu or cuda)") from None
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise DataError(f"--device {name}: no CUDA device is available (use --device auto or cpu)")
    if device.index is None:
        index = str(gpu_id).split(",")[0].strip()
        device = torch.device(f"cuda:{index}" if index.isdigit() else "cuda")
    return device
