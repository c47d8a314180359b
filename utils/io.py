"""File boundary helpers: one clear error type, atomic writes, checked npz loading."""
from __future__ import annotations

import errno
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np


class DataError(Exception):
    """Bad or missing input. The message names the file or flag and what was expected;
    the command-line entry points print it on one line instead of a traceback and exit with
    ``exit_code`` (subclasses such as ``utils.finite.NonFiniteError`` pick their own)."""

    exit_code = 2


# ``atomic_write`` names its temporary ``.<name>.<8 random characters>.tmp`` (tempfile.mkstemp).
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into place.

    A crash midway leaves the previous file (if any) untouched: ``os.replace`` is atomic on
    POSIX and Windows when both names are on one file system.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:   # e.g. a read-only folder: name the file, not the temporary
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        os.chmod(tmp, _new_file_mode(path))   # mkstemp makes 0600; give the file a normal mode
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            # e.g. ENOSPC from a file handle: name the file the user asked for, not the temporary
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    return path


def _new_file_mode(path: Path) -> int:
    """The mode ``open(path, 'w')`` would give: the existing file's, else 0666 minus umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)   # reading the umask means setting it; restore at once
        os.umask(umask)
        return 0o666 & ~umask


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` to ``path``; a failed write (a full disk) is an OSError naming ``path``
    (a file handle's own errors carry no file name)."""
    try:
        with open(path, "a") as fh:
            fh.write(text)
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries a killed ``atomic_write`` left in ``folder`` (not its subfolders).

    Only names of the form ``.<name>.<8 characters>.tmp`` are touched. Call it when a run starts
    in a folder, before anything writes there. Returns the removed paths (for one log line).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        if TEMPORARY.match(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink()
            removed.append(entry)
    return removed


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (streamed, so large files are fine)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def _file_in_the_way(path: str) -> str | None:
    """The first existing ancestor of ``path`` (or ``path`` itself) that is not a folder."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.exists():
            return None if candidate.is_dir() else str(candidate)
    return None


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation, naming the path: what a user can act on."""
    path = exc.filename if exc.filename is not None else "(unknown path)"
    if exc.filename2 is not None:
        path = f"{path} -> {exc.filename2}"
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left on device" if code == errno.ENOSPC else "disk quota exceeded"
        return f"{what} writing {path}; free some space (or choose another --checkpoint folder)"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: {path}"
    if code == errno.EROFS:
        return f"read-only file system: cannot write {path}"
    if code in (errno.ENOTDIR, errno.EEXIST) and exc.filename is not None:
        blocker = _file_in_the_way(exc.filename)
        if blocker is not None:
            return f"{blocker} is a file where a folder is expected (needed for {exc.filename})"
    if code == errno.EISDIR:
        return f"{path} is a folder where a file is expected"
    if code == errno.ENOENT:
        return f"no such file or folder: {path}"
    return f"{exc.strerror or exc}: {path}"


def run_command(body: Callable[[], Any], on_interrupt: Callable[[], str] | None = None) -> int:
    """Run a command-line entry point and turn every expected failure into one line on stderr.

    - ``DataError`` -> ``error: <message>``, exit ``exc.exit_code`` (2; 3 for non-finite values);
    - ``OSError`` (disk full, permission, a file where a folder should be) -> one line naming
      the path, exit 2;
    - Ctrl-C -> ``on_interrupt()`` (e.g. where to resume from) or ``interrupted``, exit 130.
    Success is 0. Anything else is a bug and keeps its traceback.
    """
    try:
        body()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(on_interrupt() if on_interrupt is not None else "interrupted", file=sys.stderr)
        return 130
    return 0
