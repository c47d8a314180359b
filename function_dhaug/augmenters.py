"""Entry point of the augmentation half: pick the augmenter of --data_enhancement_method."""
from __future__ import annotations

import argparse

import torch

from function_baseline.pose_set import PoseSet
from function_dhaug.gan_augmenter import GANAugmenter
from function_dhaug.normal_augmenter import NormalAugmenter
from models.gan_generator import OUTPUT_DIM
from utils.io import DataError

__all__ = ["GANAugmenter", "NormalAugmenter", "build_augmenter"]

METHODS = ("GAN", "normal", "NO_enhance")


def build_augmenter(args: argparse.Namespace, train: PoseSet, templates: torch.Tensor,
                    camera_table: torch.Tensor, device: torch.device,
                    generator: torch.Generator,
                    progress: bool = True) -> GANAugmenter | NormalAugmenter | None:
    """GANAugmenter for 'GAN', NormalAugmenter for 'normal', None for 'NO_enhance'."""
    method = args.data_enhancement_method
    if method not in METHODS:
        raise DataError(f"--data_enhancement_method must be one of {', '.join(METHODS)}, "
                        f"got {method!r}")
    if method == "NO_enhance":
        return None
    if method == "GAN":
        if args.GAN_OUTPUT_DIM != OUTPUT_DIM:
            raise DataError(f"--GAN_OUTPUT_DIM must be {OUTPUT_DIM} (31 angles, one unused output "
                            f"and the root), got {args.GAN_OUTPUT_DIM}")
        return GANAugmenter(args, train, templates, camera_table, device, generator, progress)
    return NormalAugmenter(args, train, templates, camera_table, device, generator, progress)
