"""The epoch schedule of the pose net as pure functions of the epoch, so resuming needs no
scheduler state (docs/training.md#lr-schedule, docs/video.md#video-schedule).

Single-frame mode: epochs 0 .. E+A-1; LR ``lr_p * (1 - e / (E + 1))`` for e <= E, then a factor
``additional_LR_decay`` per epoch (the original's scheduler steps during the GAN warm-up too).
Video mode: epochs 0 .. E+W+S+A-1. GAN trains the pose net from e = W+S+1 with the decay counted
from there; ``normal`` and ``NO_enhance`` are real-data baselines trained every epoch with the
single-frame LR (the original's video ``NO_enhance`` trained nothing; the team made it a baseline).
"""
from __future__ import annotations

import argparse


def lr_at_epoch(epoch: int, lr_p: float, epochs: int, decay: float) -> float:
    """Learning rate used while training epoch ``epoch`` (0-based)."""
    if epoch <= epochs:
        return lr_p * (1 - epoch / (epochs + 1))
    return lr_p / (epochs + 1) * decay ** (epoch - epochs)


def video_gan_lr_at_epoch(epoch: int, lr_p: float, epochs: int, warmup: int,
                          single_dis_warmup: int, decay: float) -> float:
    """LR while training epoch ``epoch`` of a video GAN run: the linear decay starts at the first
    pose-net epoch W+S+1 (``lr_p``), reaches ``lr_p * 2 / (E + 1)`` at E+W+S, then decays by
    ``decay`` per epoch. Epochs before W+S+1 (no pose-net training) report ``lr_p``."""
    start = warmup + single_dis_warmup
    if epoch <= epochs + start:
        return lr_p * (1 - max(epoch - start - 1, 0) / (epochs + 1))
    return lr_p * 2 / (epochs + 1) * decay ** (epoch - epochs - start)


def _video(args: argparse.Namespace) -> bool:
    return args.single_or_multi_train_mode == "multi"


def total_epochs(args: argparse.Namespace) -> int:
    """Number of epochs of the run: E+A (single frame) or E+W+S+A (video)."""
    extra = args.warmup + args.single_dis_warmup_epoch if _video(args) else 0
    return args.epochs + extra + args.additional_train_epoch


def posenet_trains(epoch: int, args: argparse.Namespace) -> bool:
    """Whether the pose net trains in ``epoch``: GAN after its warm-up (e > W, video e > W+S);
    ``normal`` and ``NO_enhance`` every epoch, in both modes; never in the GAN pre-training
    epochs (negative numbers, ``--gan_pretrain_epochs``)."""
    return epoch >= first_posenet_epoch(args)


def posenet_lr(epoch: int, args: argparse.Namespace) -> float:
    """Pose-net LR while training ``epoch`` for the run's mode and method. The log row's "lr
    after step" is ``posenet_lr(epoch + 1, args)``."""
    if _video(args) and args.data_enhancement_method == "GAN":
        return video_gan_lr_at_epoch(epoch, args.lr_p, args.epochs, args.warmup,
                                     args.single_dis_warmup_epoch, args.additional_LR_decay)
    first = first_posenet_epoch(args) if args.lr_schedule_from_first_train else 0
    return lr_at_epoch(max(epoch - first, 0), args.lr_p, args.epochs - first,
                       args.additional_LR_decay)


def first_posenet_epoch(args: argparse.Namespace) -> int:
    """The first epoch in which the pose net trains (0 unless GAN's warm-up delays it)."""
    if args.data_enhancement_method != "GAN":
        return 0
    return args.warmup + 1 + (args.single_dis_warmup_epoch if _video(args) else 0)
