"""What one epoch is made of, as a pure function of the epoch number and the flags.

The training loop (run_fk_gan.py) asks :func:`plan_epoch` and runs the phases it names; nothing
else decides when the pose net trains or which learning rate it uses (docs/training.md#epoch-loop,
docs/video.md#video-schedule). Being pure, a resumed run needs no scheduler state.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from function_baseline.lr_schedule import posenet_lr, posenet_trains, total_epochs
from function_baseline.run_mode import uses_augmenter

__all__ = ["EpochPlan", "plan_epoch", "total_epochs"]


@dataclass(frozen=True)
class EpochPlan:
    """epoch; lr used while training it; lr_logged: the value the log row shows (the rate after
    the original's scheduler step); augment: the augmenter makes a fresh fake pool; trains: the
    pose net trains (on the fake pool, if any, then on real data) and is evaluated."""
    epoch: int
    lr: float
    lr_logged: float
    augment: bool
    trains: bool

    @property
    def pretraining(self) -> bool:
        """A --gan_pretrain_epochs epoch (before epoch 0): no log row, no snapshot."""
        return self.epoch < 0


def plan_epoch(epoch: int, args: argparse.Namespace) -> EpochPlan:
    """The plan of epoch ``epoch`` for the parsed flags (either mode). Epochs -N..-1 are the
    ``--gan_pretrain_epochs N`` GAN epochs: augment only, no row, no LR step."""
    return EpochPlan(epoch=epoch, lr=posenet_lr(epoch, args), lr_logged=posenet_lr(epoch + 1, args),
                     augment=uses_augmenter(args),
                     trains=posenet_trains(epoch, args))
