"""Entry point of the augmentation half: pick the augmenter of --data_enhancement_method."""
from __future__ import annotations

import argparse

import torch

from function_baseline.model_pos_preparation import is_multi_frame, receptive_field
from function_baseline.pose_set import PoseSet
from function_baseline.run_mode import uses_augmenter
from function_baseline.video_windows import VideoWindows
from function_dhaug.gan_augmenter import GANAugmenter
from function_dhaug.normal_augmenter import NormalAugmenter
from function_dhaug.video_gan_augmenter import VideoGANAugmenter
from utils.distributed import DistContext

__all__ = ["GANAugmenter", "NormalAugmenter", "VideoGANAugmenter", "build_augmenter"]
Augmenter = GANAugmenter | NormalAugmenter | VideoGANAugmenter

# The values of --data_enhancement_method (utils/config.py validates against this list).
METHODS = ("GAN", "normal", "NO_enhance")


def build_augmenter(args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                    camera_table: torch.Tensor, device: torch.device,
                    generator: torch.Generator, progress: bool = True,
                    ctx: DistContext | None = None) -> Augmenter | None:
    """GAN: GANAugmenter (single frame) or VideoGANAugmenter (video lifters, windows cut inside
    ``train.sequence``); 'normal': NormalAugmenter in single-frame mode; otherwise None (the
    video 'normal' method and 'NO_enhance' train on real data only, docs/video.md#video-schedule).

    ctx: the distributed run, passed to the GAN augmenters (they split every global batch over the
    ranks); the 'normal' pool needs none: every rank draws the same pool from its identically
    seeded generator and the pose-net pass splits it.
    """
    if not uses_augmenter(args):
        return None
    if args.data_enhancement_method == "normal":
        return NormalAugmenter(args, train, templates, camera_table, device, generator, progress)
    if is_multi_frame(args):
        windows = VideoWindows(train.sequence, receptive_field(args))
        return VideoGANAugmenter(args, train, windows, templates, camera_table, device, generator,
                                 progress, ctx)
    return GANAugmenter(args, train, templates, camera_table, device, generator, progress, ctx)
