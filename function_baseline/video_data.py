"""Pose-net batches for both modes behind one interface, and the ``--video_over_200mm`` filter.

A batch source turns index tensors into (inputs, target) pairs (docs/video.md#video-pose-net):

* single frame (real set or fake pool): inputs (B, 16, 2), target (B, 16, 3) root-relative;
* video, real set: inputs (B, T, 16, 2) edge-padded windows gathered by index from the frames
  (never an (N, T, ...) copy), target the centre frame (B, 1, 16, 3) root-relative;
* video fake pool (pose2d already (M, T, 16, 2) windows): the same shapes by plain indexing.

``len(source)`` counts the centre frames, i.e. every (sequence, frame) pair, so an epoch is a fresh
permutation of ``range(len(source))`` drawn from the caller's generator.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows, sequence_runs
from utils.skeleton import root_relative

KEYFRAME_MOTION_MM = 200.0


@dataclass
class BatchSource:
    """Rows of ``data`` as lifter batches; ``windows`` cuts (B, T) windows for real video sets.

    video: targets get a frame axis (B, 1, 16, 3) and the training step uses the video loss.
    """
    data: PoseSet
    windows: VideoWindows | None = None
    video: bool = False

    def __len__(self) -> int:
        return len(self.data)

    @property
    def device(self) -> torch.device:
        return self.data.pose2d.device

    def to(self, device: torch.device | str) -> "BatchSource":
        windows = self.windows.to(device) if self.windows is not None else None
        return BatchSource(self.data.to(device), windows, self.video)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """idx (B,) long -> (inputs, target) on the data's device (shapes in the module notes)."""
        idx = idx.to(self.device)
        rows = idx if self.windows is None else self.windows.rows(idx)
        inputs = self.data.pose2d[rows]
        target = root_relative(self.data.pose3d[idx])
        if self.video:
            target = target.unsqueeze(1)
        return inputs, target


def frame_source(data: PoseSet) -> BatchSource:
    """Single-frame batches of a real set or a single-frame fake pool."""
    return BatchSource(data)


def video_source(data: PoseSet, frames: int) -> BatchSource:
    """Video batches of T = ``frames``: windows cut inside ``data.sequence`` for a real set
    (pose2d (N, 16, 2)), or the stored windows of a fake pool (pose2d (M, T, 16, 2))."""
    if data.pose2d.dim() == 4:
        if data.pose2d.shape[1] != frames:
            raise ValueError(f"fake pool windows have {data.pose2d.shape[1]} frames, "
                             f"the pose net expects {frames}")
        return BatchSource(data, None, video=True)
    if data.sequence is None:
        raise ValueError("a real video set needs its per-row sequence ids (PoseSet.sequence)")
    return BatchSource(data, VideoWindows(data.sequence, frames), video=True)


def keyframe_mask(pose3d: torch.Tensor, sequence: torch.Tensor,
                  threshold_mm: float = KEYFRAME_MOTION_MM) -> torch.Tensor:
    """(N,) bool: frame 0 of every sequence, then each frame in which some joint moved at least
    ``threshold_mm`` from the last kept frame of its sequence. pose3d (N, 16, 3) metres.

    One loop over time steps, each advancing all sequences at once (the rule is sequential
    within a sequence); no host syncs inside the loop.
    """
    starts, lengths, _ = sequence_runs(sequence)
    keep = torch.zeros(sequence.shape[0], dtype=torch.bool, device=sequence.device)
    if starts.numel() == 0:
        return keep
    keep[starts] = True
    pose_mm = pose3d * 1000
    last = starts.clone()
    for t in range(1, int(lengths.max())):
        active = lengths > t
        cand = starts + torch.minimum(lengths - 1, torch.full_like(lengths, t))
        moved = torch.linalg.vector_norm(pose_mm[cand] - pose_mm[last], dim=-1) >= threshold_mm
        take = moved.any(dim=-1) & active
        keep[cand] = keep[cand] | take
        last = torch.where(take, cand, last)
    return keep


def filter_over_200mm(data: PoseSet) -> PoseSet:
    """``--video_over_200mm``: keep only the key frames of each sequence (``keyframe_mask`` on the
    camera-frame 3D); 2D, 3D, camera and labels are filtered alike, sequence ids kept."""
    if data.sequence is None:
        raise ValueError("--video_over_200mm needs per-row sequence ids (PoseSet.sequence)")
    keep = keyframe_mask(data.pose3d, data.sequence)
    return data.index(keep.nonzero().squeeze(1))
