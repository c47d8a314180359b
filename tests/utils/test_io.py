"""utils.io: atomic writes under failures, stale temporaries, one-line errors and Ctrl-C."""
from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, default_sigint
from utils.io import (DataError, append_text, atomic_write, describe_os_error, file_sha256,
                      remove_stale_temporaries, run_command)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _run(body, capsys, **kwargs) -> tuple[int, str]:
    code = run_command(body, **kwargs)
    return code, capsys.readouterr().err


def test_disk_full_in_a_writer_is_one_line_naming_the_file(tmp_path, capsys):
    path = tmp_path / "ckpt_last.pth.tar"
    path.write_bytes(b"previous epoch")

    def full_disk(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))   # as a file handle raises it

    with pytest.raises(OSError) as err:
        atomic_write(path, full_disk)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == b"previous epoch" and _temporaries(tmp_path) == []

    code, stderr = _run(lambda: atomic_write(path, full_disk), capsys)
    assert code == 2 and stderr == f"error: no space left on device writing {path}; free some " \
                                   f"space (or choose another --checkpoint folder)\n"
    assert _temporaries(tmp_path) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_real_enospc_from_torch_save_through_a_file_handle(tmp_path, capsys):
    # /dev/full fails every write with ENOSPC: torch.save to a Python handle surfaces it as an
    # OSError (utils.checkpoint.save_checkpoint writes this way), which atomic_write names.
    path = tmp_path / "ckpt.pth.tar"

    def write(tmp: str) -> None:
        with open("/dev/full", "wb") as fh:
            torch.save({"w": torch.zeros(100_000)}, fh)

    code, stderr = _run(lambda: atomic_write(path, write), capsys)
    assert code == 2 and stderr.startswith(f"error: no space left on device writing {path}")
    assert stderr.count("\n") == 1 and not path.exists() and _temporaries(tmp_path) == []


def test_a_file_where_a_folder_is_expected(tmp_path, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    for target in (blocker / "ckpt.pth.tar", blocker / "deeper" / "ckpt.pth.tar"):
        code, stderr = _run(lambda t=target: atomic_write(t, lambda tmp: None), capsys)
        assert code == 2
        assert stderr == f"error: {blocker} is a file where a folder is expected " \
                         f"(needed for {target.parent})\n"


@pytest.mark.skipif(IS_ROOT, reason="root ignores folder permissions")
def test_permission_denied_names_the_file_not_the_temporary(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, stderr = _run(lambda: atomic_write(folder / "log.txt", lambda tmp: None), capsys)
    finally:
        folder.chmod(0o700)
    assert code == 2 and stderr == f"error: permission denied: {folder / 'log.txt'}\n"


def test_permission_error_of_the_temporary_names_the_target(tmp_path, monkeypatch, capsys):
    # As root the real case cannot be made (test above); mkstemp failing is the same path.
    def denied(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}abcdefgh{suffix}")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    code, stderr = _run(lambda: atomic_write(tmp_path / "log.txt", lambda tmp: None), capsys)
    assert code == 2 and stderr == f"error: permission denied: {tmp_path / 'log.txt'}\n"


def test_other_os_errors_are_one_line():
    assert describe_os_error(IsADirectoryError(errno.EISDIR, "Is a directory", "/x/y")) == \
        "/x/y is a folder where a file is expected"
    assert describe_os_error(FileNotFoundError(errno.ENOENT, "No such file", "/x/z")) == \
        "no such file or folder: /x/z"
    assert describe_os_error(OSError(errno.EROFS, "Read-only file system", "/m/a")) == \
        "read-only file system: cannot write /m/a"
    assert describe_os_error(OSError(errno.EIO, "Input/output error", "/d/f")) == \
        "Input/output error: /d/f"
    assert describe_os_error(OSError(errno.EXDEV, "Cross-device link", "/a", None, "/b")) == \
        "Cross-device link: /a -> /b"


def test_data_error_ctrl_c_and_success_exit_codes(capsys):
    def bad():
        raise DataError("--lr_p must be a positive number, got -1.0")

    assert _run(bad, capsys) == (2, "error: --lr_p must be a positive number, got -1.0\n")

    def interrupted():
        raise KeyboardInterrupt

    hint = "interrupted at epoch 3; resume with: python3 run_fk_gan.py --resume r/ckpt_last.pth.tar"
    assert _run(interrupted, capsys, on_interrupt=lambda: hint) == (130, hint + "\n")
    assert _run(interrupted, capsys) == (130, "interrupted\n")
    assert _run(lambda: None, capsys) == (0, "")


SIGINT_CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from utils.io import run_command
state = {{"epoch": 0}}
def body():
    for state["epoch"] in range(100):
        if state["epoch"] == 2:
            print("training", flush=True)
        time.sleep(0.05)
sys.exit(run_command(body, on_interrupt=lambda: f"interrupted at epoch {{state['epoch']}}; resume with: X"))
"""


def test_sigint_to_a_running_command_gives_the_hint_and_130():
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_CHILD.format(repo=str(REPO))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    assert proc.stdout.readline().strip() == "training"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.startswith("interrupted at epoch ") and stderr.endswith("; resume with: X\n")
    assert "Traceback" not in stderr and stderr.count("\n") == 1


KILLED_WRITER = """
import sys, time
sys.path.insert(0, {repo!r})
from utils.io import atomic_write
def write(tmp):
    with open(tmp, 'wb') as fh:
        fh.write(b'x' * 1000)
        fh.flush()
        print('writing', flush=True)
        time.sleep(60)
atomic_write({path!r}, write)
"""


def kill_writer_midway(path: Path) -> None:
    """A subprocess starts ``atomic_write(path, ...)``, writes 1000 bytes, and is SIGKILLed."""
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER.format(repo=str(REPO), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"   # the writer is midway
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


def test_stale_temporaries_of_a_killed_write_are_removed_and_nothing_else(tmp_path):
    run = tmp_path / "run"
    (run / "tmp").mkdir(parents=True)
    kill_writer_midway(run / "ckpt_last.pth.tar")
    (stale,) = [p for p in run.iterdir() if p.name.endswith(".tmp")]   # the debris of the kill
    assert stale.name.startswith(".ckpt_last.pth.tar.") and stale.stat().st_size == 1000

    keep = {"log.txt": b"rows", ".hidden": b"h", "notes.tmp": b"n", ".a.short.tmp": b"s",
            ".ckpt.pth.tar.abcdefgh.tmp.bak": b"b", "tmp/.pic.png.abcdefgh.tmp": b"p"}
    for name, data in keep.items():
        (run / name).write_bytes(data)
    (run / ".dir.abcdefgh.tmp").mkdir()                                 # a folder: never removed

    assert remove_stale_temporaries(run) == [stale]
    assert not stale.exists()
    assert all((run / name).read_bytes() == data for name, data in keep.items())
    assert (run / ".dir.abcdefgh.tmp").is_dir()
    assert remove_stale_temporaries(run) == [] and remove_stale_temporaries(tmp_path / "no") == []


def test_file_sha256_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_atomic_write_gives_new_files_the_usual_mode_and_keeps_an_existing_one(tmp_path):
    umask = os.umask(0o027)
    try:
        new = atomic_write(tmp_path / "new.txt", lambda tmp: Path(tmp).write_text("a"))
        assert new.stat().st_mode & 0o777 == 0o640             # 0666 minus the umask, not 0600
        (tmp_path / "old.txt").write_text("x")
        (tmp_path / "old.txt").chmod(0o604)
        atomic_write(tmp_path / "old.txt", lambda tmp: Path(tmp).write_text("b"))
        assert (tmp_path / "old.txt").stat().st_mode & 0o777 == 0o604
    finally:
        os.umask(umask)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_append_text_names_the_file_when_the_disk_is_full(tmp_path, capsys):
    append_text(tmp_path / "log.txt", "row 1\n")
    append_text(tmp_path / "log.txt", "row 2\n")
    assert (tmp_path / "log.txt").read_text() == "row 1\nrow 2\n"
    code, stderr = _run(lambda: append_text("/dev/full", "x" * 100_000), capsys)
    assert code == 2 and stderr.startswith("error: no space left on device writing /dev/full;")
