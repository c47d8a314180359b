"""Run-folder policy of ``--resume`` (docs/training.md#resume): nothing a user made is lost.

- Resuming from the ``ckpt_last.pth.tar`` of the run folder it was written in continues there.
- Resuming from anything else (a snapshot, a best checkpoint, a copy, a ``ckpt_last`` moved
  elsewhere) forks: a new folder next to the original, named after the checkpoint and epoch,
  gets the log up to that checkpoint; the source folder is only read.
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from utils.io import DataError

LAST_FILE = "ckpt_last.pth.tar"
CHECKPOINT_SUFFIXES = (".pth.tar", ".pth", ".pt", ".tar", ".ckpt")

# Flags that fix the shapes of the saved networks and optimisers; a resume must repeat them.
RESUME_FLAGS = ("data_enhancement_method", "single_or_multi_train_mode", "posenet_name",
                "stages", "architecture")
GAN_FLAGS = ("Gen_DenseDim", "Dis_DenseDim_3D", "Dis_DenseDim_2D")
VIDEO_GAN_FLAGS = ("video_Dis_DenseDim_3D", "video_Dis_DenseDim_2D")


def checkpoint_stem(path: str | Path) -> str:
    """'ckpt_epoch_0002.pth.tar' -> 'ckpt_epoch_0002' (the name without checkpoint suffixes)."""
    name = Path(path).name
    for suffix in CHECKPOINT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def continues_in_place(resume_path: str | Path, text_lines: list[str]) -> bool:
    """True when ``resume_path`` is the ``ckpt_last.pth.tar`` of the run whose ``log.txt`` sits
    next to it: the log starts with exactly the lines the checkpoint holds (what follows them
    is the interrupted epoch, which the resumed run redoes)."""
    path = Path(resume_path)
    log = path.parent / "log.txt"
    if path.name != LAST_FILE or not log.is_file():
        return False
    lines = log.read_text().splitlines()
    return lines[: len(text_lines)] == list(text_lines)


def fork_folder_name(resume_path: str | Path, epoch: int) -> str:
    """``<run folder>_from-<checkpoint>-e<epoch>`` for a resume that must not touch its source."""
    source = Path(resume_path).resolve().parent
    return f"{source.name}_from-{checkpoint_stem(resume_path)}-e{int(epoch)}"


def make_fork_folder(resume_path: str | Path, epoch: int) -> Path:
    """Create a new, unique run folder (with ``tmp/``) next to the checkpoint's folder."""
    source = Path(resume_path).resolve().parent
    base = fork_folder_name(resume_path, epoch)
    k = 1
    while True:
        run_dir = source.parent / (base if k == 1 else f"{base}-{k}")
        try:
            run_dir.mkdir()   # atomic: two runs forking at once get two folders
        except FileExistsError:
            k += 1
            continue
        (run_dir / "tmp").mkdir()
        return run_dir


def resume_target(resume_path: str | Path, epoch: int, text_lines: list[str]) -> tuple[Path, bool]:
    """Where a resumed run writes: ``(run folder, forked)``.

    ``epoch`` and ``text_lines`` are the checkpoint's ``epoch`` and ``log['text_lines']``. In
    place: the checkpoint's own folder. Forked: a new folder (created here, so call this after
    every check that can refuse the run); write the log into it from ``text_lines``.
    """
    if continues_in_place(resume_path, text_lines):
        return Path(resume_path).resolve().parent, False
    return make_fork_folder(resume_path, epoch), True


def check_resume_flags(saved: dict, args: argparse.Namespace, path: str | Path) -> None:
    """Refuse (one short line) a resume whose method or architecture differs from the
    checkpoint's (``saved`` = its ``args``): its state would not fit the networks built now."""
    current = vars(args)
    method = saved.get("data_enhancement_method", current["data_enhancement_method"])
    flags = list(RESUME_FLAGS)
    if method == "GAN" == current["data_enhancement_method"]:
        flags += GAN_FLAGS
        if current["single_or_multi_train_mode"] == "multi":
            flags += VIDEO_GAN_FLAGS
    differ = [f for f in flags if f in saved and f in current and saved[f] != current[f]]
    if differ:
        was = " ".join(f"--{f} {saved[f]}" for f in differ)
        now = " ".join(f"--{f} {current[f]}" for f in differ)
        raise DataError(f"--resume {path} was trained with {was}, but this command gives {now}; "
                        f"repeat the run's flags, or drop --resume to start a new run")


def strip_resume(argv: list[str]) -> list[str]:
    """``argv`` without any ``--resume PATH`` / ``--resume=PATH``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            out.append(arg)
    return out


def interrupt_message(argv: list[str], epoch: int | None, run_dir: Path | None,
                      program: str = "python3 run_fk_gan.py") -> str:
    """The line printed on Ctrl-C: where the run stopped and the command that continues it.

    ``argv``: the command's flags (``sys.argv[1:]``); ``epoch``: the epoch in progress (None
    before training started); ``run_dir``: the run folder (None before it exists).
    """
    where = "interrupted" if epoch is None else f"interrupted at epoch {epoch}"

    def command(flags: list[str]) -> str:
        return " ".join([program, shlex.join(flags)]) if flags else program

    last = Path(run_dir) / LAST_FILE if run_dir is not None else None
    if last is not None and last.is_file():
        return f"{where}; resume with: {command(strip_resume(argv) + ['--resume', str(last)])}"
    if strip_resume(argv) != list(argv):
        return f"{where} before its first checkpoint; resume again with: {command(argv)}"
    return f"{where} before the first checkpoint; start again with: {command(argv)}"
