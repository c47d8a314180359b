"""Lift a 2D keypoint track to 3D with a trained lifter (docs/inference.md#lifting).

The input is normalised exactly as in training (pixels -> ``normalize_screen_coordinates`` by the
image width, docs/cameras.md#normalisation) and lifted by the evaluation's own predictors, the
track being one sequence: single-frame lifters through ``predict``; the dilated TCN over the
edge-padded sequence and window lifters (PoseFormer) on each frame's edge-padded window
(docs/video.md#video-evaluation). A track of up to ``PIECE`` frames is one call, so its
predictions are bit for bit those of the evaluation; a longer one is cut into pieces that carry
(T-1)/2 frames of context on each side (every frame still sees exactly its own window) and a
progress bar counts them. Output: (N, 16, 3) root-relative camera-frame metres.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from function_baseline.evaluate import (EVAL_BATCH, TCN_CHUNK, TCN_CHUNKS_PER_PASS, predict,
                                        predict_tcn_sequences, predict_windows)
from models.lifter_videopose import DilatedTemporalLifter
from utils.camera import normalize_screen_coordinates

# Frames per piece of a video track: one forward pass of the evaluation's TCN chunking.
PIECE = TCN_CHUNK * TCN_CHUNKS_PER_PASS


def normalise_pixels(keypoints: np.ndarray | torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(N, 16, 2) pixels -> float32 normalised screen coordinates, computed like the data loader
    (float32 per-row width and height), so the numbers are identical to the training input."""
    uv = torch.as_tensor(np.asarray(keypoints, np.float32))
    n = uv.shape[0]
    w = torch.full((n,), float(width), dtype=torch.float32)
    h = torch.full((n,), float(height), dtype=torch.float32)
    return normalize_screen_coordinates(uv, w, h)


def _starts(n: int, size: int, progress: bool) -> tqdm:
    starts = range(0, n, size)
    return tqdm(starts, desc="lifting", unit="piece", leave=False,
                disable=not progress or len(starts) < 2)


def lift_single_frame(model: torch.nn.Module, pose2d: torch.Tensor, progress: bool = True
                      ) -> torch.Tensor:
    """(N, 16, 2) -> (N, 16, 3): ``predict`` one evaluation batch at a time (the same batches)."""
    return torch.cat([predict(model, pose2d[s:s + EVAL_BATCH])
                      for s in _starts(len(pose2d), EVAL_BATCH, progress)])


def lift_video(model: torch.nn.Module, pose2d: torch.Tensor, frames: int, progress: bool = True,
               piece: int = PIECE) -> torch.Tensor:
    """(N, 16, 2) track of a video lifter with receptive field ``frames`` -> (N, 16, 3)."""
    predictor = predict_tcn_sequences if isinstance(model, DilatedTemporalLifter) else predict_windows
    n, pad = len(pose2d), (frames - 1) // 2
    if n <= piece:
        return predictor(model, pose2d, pose2d.new_zeros(n, dtype=torch.long), frames)
    out = []
    for s in _starts(n, piece, progress):
        e = min(s + piece, n)
        rows = torch.arange(s - pad, e + pad, device=pose2d.device).clamp(0, n - 1)
        y = predictor(model, pose2d[rows], rows.new_zeros(len(rows)), frames)
        out.append(y[pad:pad + e - s])
    return torch.cat(out)


def lift(model: torch.nn.Module, pose2d: torch.Tensor, frames: int, progress: bool = True
         ) -> torch.Tensor:
    """(N, 16, 2) normalised 2D of one track -> (N, 16, 3) root-relative metres on the model's
    device; ``frames`` is the lifter's receptive field (1 for single-frame lifters)."""
    if frames == 1:
        return lift_single_frame(model, pose2d, progress)
    return lift_video(model, pose2d, frames, progress)
