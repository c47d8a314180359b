"""Checks of flag values and paths that run before any dataset loads and before a run folder is
made, so a mistake costs one line (a ``DataError``), not a traceback minutes later or debris.
(Number ranges such as positive learning rates are refused by the parser, utils/config.py.)"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Callable

import torch

from utils.io import DataError
from utils.run_folder import LAST_FILE


def check_checkpoint_files(args: argparse.Namespace) -> None:
    """--resume, --evaluate, --GAN_resume and (with --pretrain True) --pretrain_path must name
    existing checkpoint files, not folders."""
    named = [("--resume", args.resume), ("--evaluate", args.evaluate),
             ("--GAN_resume", args.GAN_resume)]
    if args.pretrain:
        named.append(("--pretrain_path", args.pretrain_path))
    for flag, value in named:
        if not value:
            continue
        path = Path(value)
        if path.is_dir():
            inside = path / LAST_FILE
            hint = f" such as {inside}" if inside.is_file() else ""
            raise DataError(f"{flag} {path} is a folder; name a checkpoint file{hint}")
        if not path.is_file():
            raise DataError(f"{flag} {path} does not exist")


def check_device(args: argparse.Namespace) -> None:
    """--gpu_id against the CUDA devices present; only where CUDA is used (--device cuda, or
    auto on a machine that has it)."""
    uses_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if not uses_cuda:
        return
    if not torch.cuda.is_available():
        raise DataError("--device cuda: no CUDA device is available (use --device auto or cpu)")
    ids = [part.strip() for part in str(args.gpu_id).split(",")]
    if not all(part.isdigit() for part in ids):
        raise DataError(f"--gpu_id expects CUDA device indices such as 0 or 0,1, "
                        f"got {args.gpu_id!r}")
    count = torch.cuda.device_count()
    wrong = [int(part) for part in ids if int(part) >= count]
    if wrong:
        raise DataError(f"--gpu_id {args.gpu_id}: no CUDA device {wrong[0]}; this machine has "
                        f"{count} (indices 0..{count - 1})")


def _check_writable_folder(flag: str, folder: Path) -> None:
    """``folder`` (or, if it does not exist yet, its nearest existing ancestor) must be a
    writable folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == folder else f" ({existing} is a file where a folder is expected)"
        raise DataError(f"{flag} {folder} must be a folder{where}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{flag} {folder}: permission denied writing in {existing}")


def check_output_folder(args: argparse.Namespace) -> None:
    """The folder the command writes in is a writable folder: --checkpoint for a new run, the
    checkpoint's folder for --evaluate and an in-place --resume, its parent for a forking one."""
    if args.evaluate:
        _check_writable_folder("--evaluate", Path(args.evaluate).resolve().parent)
    elif args.resume:
        ckpt = Path(args.resume).resolve()
        folder = ckpt.parent if ckpt.name == LAST_FILE else ckpt.parent.parent
        _check_writable_folder("--resume", folder)
    else:
        _check_writable_folder("--checkpoint", Path(args.checkpoint))


def check_trains_something(args: argparse.Namespace, total: int, trains_at: Callable[[int], bool],
                           start_epoch: int = 0) -> None:
    """Refuse a run in which the pose net would never train.

    ``total``: the run's number of epochs; ``trains_at(epoch)``: whether the pose net trains in
    that epoch; ``start_epoch``: the first epoch to run (a resumed checkpoint's ``epoch``).
    With GAN, epochs 0..--warmup are GAN-only: --warmup N gives N + 1 of them.
    """
    if any(trains_at(e) for e in range(start_epoch, total)):
        return
    video = args.single_or_multi_train_mode == "multi"
    parts = ["--epochs", "--warmup", "--single_dis_warmup_epoch"] if video else ["--epochs"]
    parts.append("--additional_train_epoch")
    epochs = (" + ".join(f"{p} {getattr(args, p[2:])}" for p in parts) + f" = {total} epoch(s)")
    if start_epoch >= total and start_epoch > 0:
        raise DataError(f"--resume {args.resume} is at epoch {start_epoch} and {epochs}: nothing "
                        f"is left to train; raise --additional_train_epoch to continue")
    if total == 0:
        raise DataError(f"{epochs}: nothing would be trained")
    if args.data_enhancement_method == "GAN":
        last = args.warmup + (args.single_dis_warmup_epoch if video else 0)
        raise DataError(f"{epochs} with --warmup {args.warmup}: epochs 0..{last} are GAN-only, so "
                        f"the pose net would never train; give more than {last + 1} epochs or a "
                        f"smaller --warmup")
    raise DataError(f"{epochs} from epoch {start_epoch}: the pose net would never train")


def validate_args(args: argparse.Namespace) -> None:
    """Every check that needs only the flags and the file system (no data, no checkpoint read)."""
    check_checkpoint_files(args)
    check_device(args)
    check_output_folder(args)
