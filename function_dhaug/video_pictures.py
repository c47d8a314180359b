"""Debug picture of video DH-AUG: a generated sequence beside a real one, as a strip of frames.

Four rows (generated 3D, generated 2D, real 3D, real 2D) by up to ``max_frames`` evenly spaced
frames. Each 3D panel is centred on its frame's root (an untrained generator's root can jump
metres between frames, which would shrink the skeleton to a dot on shared axes) and gives the root
in its title; the 2D panels share the normalised screen square, so the root's motion shows there. Drawing reuses the skeleton helpers of
:mod:`function_dhaug.visualise` (Agg canvas, no pyplot).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from function_dhaug.visualise import draw_pose_2d, draw_pose_3d, new_figure

MAX_FRAMES = 9


def strip_frames(frames: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """Indices of up to ``max_frames`` evenly spaced frames of a T-frame sequence, first and last
    included."""
    k = max(1, min(frames, max_frames))
    return sorted({int(round(i)) for i in np.linspace(0, frames - 1, k)})


def sequence_strip_figure(fake3d: torch.Tensor, fake2d: torch.Tensor, real3d: torch.Tensor,
                          real2d: torch.Tensor, max_frames: int = MAX_FRAMES) -> Any:
    """Strip figure of one generated and one real sequence.

    fake3d/real3d (T, 16, 3) world metres (z up, root included); fake2d/real2d (T, 16, 2)
    normalised screen coordinates. Returns a matplotlib Figure on an Agg canvas.
    """
    t = fake3d.shape[0]
    if not (fake2d.shape[0] == real3d.shape[0] == real2d.shape[0] == t):
        raise ValueError(f"sequence_strip_figure: all four sequences need {t} frames, got "
                         f"{fake2d.shape[0]}, {real3d.shape[0]}, {real2d.shape[0]}")
    cols = strip_frames(t, max_frames)
    rows = [(fake3d, "generated 3D", True), (fake2d, "generated 2D", False),
            (real3d, "real 3D", True), (real2d, "real 2D", False)]
    k = len(cols)
    fig = new_figure(2.2 * k, 9)
    for r, (data, label, is3d) in enumerate(rows):
        seq = data.detach().cpu().double().numpy()
        for c, frame in enumerate(cols):
            pos = r * k + c + 1
            if is3d:
                root = ", ".join(f"{v:.2f}" for v in seq[frame, 0])
                draw_pose_3d(fig.add_subplot(4, k, pos, projection="3d"), seq[frame],
                         f"{label}, frame {frame}\nroot ({root}) m")
            else:
                draw_pose_2d(fig.add_subplot(4, k, pos), seq[frame], f"{label}, frame {frame}")
    fig.subplots_adjust(left=0.02, right=0.99, bottom=0.03, top=0.96, wspace=0.25, hspace=0.45)
    return fig
