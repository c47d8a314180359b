"""Single-frame or video: what the mode changes in an epoch, in one place.

The loop is the same in both modes (docs/training.md#epoch-loop); the mode decides the window
length T, how a PoseSet becomes pose-net batches, and how the evaluation copy is run
(docs/video.md#video-pose-net, docs/video.md#video-evaluation).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from function_baseline.model_pos_preparation import is_multi_frame, receptive_field
from function_baseline.pose_set import PoseSet
from function_baseline.video_data import BatchSource, frame_source, video_source


@dataclass(frozen=True)
class RunMode:
    """video: windows of ``frames`` (T) frames; else single frames (T = 1)."""
    video: bool
    frames: int

    def source(self, data: PoseSet) -> BatchSource:
        """Pose-net batches of a real set or a fake pool."""
        return video_source(data, self.frames) if self.video else frame_source(data)

    @property
    def eval_frames(self) -> int | None:
        """The ``frames`` argument of function_baseline/evaluate.py (None: single frame)."""
        return self.frames if self.video else None


def run_mode(args: argparse.Namespace) -> RunMode:
    return RunMode(video=is_multi_frame(args), frames=receptive_field(args))


def uses_augmenter(args: argparse.Namespace) -> bool:
    """GAN in both modes; 'normal' in single-frame mode only (in video mode it is a real-data
    baseline, as in the original: there is no sequence sampler for random DH poses)."""
    method = args.data_enhancement_method
    return method == "GAN" or (method == "normal" and not is_multi_frame(args))
