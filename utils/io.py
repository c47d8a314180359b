"""File boundary helpers: one clear error type, atomic writes, checked npz loading."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np


class DataError(Exception):
    """Bad or missing input. The message names the file or flag and what was expected;
    the command-line entry points print it on one line instead of a traceback."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into place.

    A crash midway leaves the previous file (if any) untouched: ``os.replace`` is atomic on
    POSIX and Windows when both names are on one file system.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def save_npz_atomic(path: str | os.PathLike, **arrays: Any) -> Path:
    """``np.savez_compressed`` written atomically (the name is kept exactly, no '.npz' added)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return atomic_write(path, write)


def save_npy_atomic(path: str | os.PathLike, array: np.ndarray) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
    return atomic_write(path, write)


def check_output_path(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite a file the user already has unless ``--force`` was given."""
    path = Path(path)
    if path.exists() and not force:
        raise DataError(f"{path} already exists; pass --force to overwrite it")
    return path


def load_npz(path: str | os.PathLike, keys: tuple[str, ...] = (), hint: str = "") -> dict:
    """Load an npz (pickles allowed, as in the real files) and check that ``keys`` are present.

    ``hint`` names the command that makes the file; it is part of the missing-file error.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"missing file {path}"
        if hint:
            msg += f"; make it with: {hint}"
        raise DataError(msg)
    try:
        with np.load(path, allow_pickle=True) as z:
            out = {k: z[k] for k in z.files}
    except Exception as exc:  # corrupt zip, truncated file, ...
        raise DataError(f"cannot read {path} as an npz file: {exc}") from None
    missing = [k for k in keys if k not in out]
    if missing:
        raise DataError(f"{path} has no key(s) {missing}; found {sorted(out)}")
    return out


def unpack_object(array: np.ndarray, path: str | os.PathLike, key: str) -> Any:
    """Return the Python object stored in a 0-d object array (``positions_3d`` etc.)."""
    if array.dtype != object or array.shape != ():
        raise DataError(f"{path}: key {key!r} should hold a pickled dict (0-d object array), "
                        f"got dtype {array.dtype} shape {array.shape}")
    return array.item()


def run_command(body: Callable[[], Any]) -> int:
    """Run a command-line entry point: a DataError becomes one ``error: ...`` line on stderr
    and exit status 2 (no traceback); success is 0."""
    try:
        body()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
