"""Debug pictures of the augmenters: skeleton grids and per-DOF angle histograms.

Matplotlib is imported lazily and only through its object API with the Agg canvas (no pyplot, no
global backend switch), so importing this module costs nothing and works headless.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from utils.io import atomic_write
from utils.skeleton import JOINTS_LEFT, JOINTS_RIGHT, PARENTS

_LEFT, _RIGHT = set(JOINTS_LEFT), set(JOINTS_RIGHT)


def _bone_colour(child: int) -> str:
    return "tab:red" if child in _RIGHT else "tab:blue" if child in _LEFT else "black"


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(fig)
    return fig


def draw_pose_3d(ax: Any, pose: np.ndarray, title: str) -> None:
    for child, parent in enumerate(PARENTS):
        if parent >= 0:
            seg = pose[[parent, child]]
            ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=_bone_colour(child), lw=2)
    centre = pose[0]
    r = max(float(np.abs(pose - centre).max()), 0.1)
    ax.set_xlim(centre[0] - r, centre[0] + r)
    ax.set_ylim(centre[1] - r, centre[1] + r)
    ax.set_zlim(centre[2] - r, centre[2] + r)
    ax.set_title(title, fontsize=8)
    ax.locator_params(nbins=3)     # 3D ticks are the bulk of drawing time; a few suffice
    ax.tick_params(labelsize=5)


def draw_pose_2d(ax: Any, pose: np.ndarray, title: str) -> None:
    for child, parent in enumerate(PARENTS):
        if parent >= 0:
            seg = pose[[parent, child]]
            ax.plot(seg[:, 0], seg[:, 1], color=_bone_colour(child), lw=2)
    ax.set_xlim(-1, 1)
    ax.set_ylim(1, -1)          # image y points down
    ax.set_xticks((-1, 0, 1))
    ax.set_yticks((-1, 0, 1))
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=5)


def pose_grid_figure(fake3d: torch.Tensor, fake2d: torch.Tensor, real3d: torch.Tensor,
                     real2d: torch.Tensor) -> Any:
    """One row per sample: generated 3D (world, z up), its 2D projection, a real 3D, its 2D.

    fake3d/real3d (K, 16, 3), fake2d/real2d (K, 16, 2) normalised screen coordinates.
    """
    k = fake3d.shape[0]
    fig = new_figure(12, 3 * k)
    cols = [(fake3d, "generated 3D", True), (fake2d, "generated 2D", False),
            (real3d, "real 3D", True), (real2d, "real 2D", False)]
    for row in range(k):
        for col, (data, title, is3d) in enumerate(cols):
            pos = row * 4 + col + 1
            pose = data[row].detach().cpu().double().numpy()
            if is3d:
                draw_pose_3d(fig.add_subplot(k, 4, pos, projection="3d"), pose, title)
            else:
                draw_pose_2d(fig.add_subplot(k, 4, pos), pose, title)
    fig.subplots_adjust(left=0.04, right=0.98, bottom=0.04, top=0.95, wspace=0.3, hspace=0.35)
    return fig


def angle_histogram_figure(values: torch.Tensor, names: Sequence[str],
                           ranges: torch.Tensor | None = None, bins: int = 72) -> Any:
    """Per-DOF histograms of ``values`` (M, D) degrees as one heat map: row j = histogram of
    column j over (-180, 180) (normalised to its peak), titled ``names[j]``. ``ranges`` (D, 2)
    marks each DOF's allowed interval with two red ticks."""
    data = values.detach().cpu().double().numpy()
    d = data.shape[1]
    edges = np.linspace(-180, 180, bins + 1)
    counts = np.stack([np.histogram(data[:, j], bins=edges)[0] for j in range(d)]).astype(float)
    counts /= np.maximum(counts.max(axis=1, keepdims=True), 1)
    fig = new_figure(9, 0.22 * d + 1.2)
    ax = fig.add_axes((0.12, 0.08, 0.82, 0.86))
    ax.imshow(counts, aspect="auto", cmap="viridis", extent=(-180, 180, d - 0.5, -0.5),
              interpolation="nearest")
    if ranges is not None:
        lim = ranges.detach().cpu().double().numpy()
        rows = np.arange(d)
        ax.plot(lim[:, 0], rows, "r|", ms=8)
        ax.plot(lim[:, 1], rows, "r|", ms=8)
    ax.set_yticks(np.arange(d))
    ax.set_yticklabels(list(names), fontsize=6)
    ax.set_xlabel("angle (degrees)", fontsize=8)
    ax.set_title(f"generated angles, {data.shape[0]} samples (row-normalised histograms)",
                 fontsize=8)
    return fig


def figure_to_array(fig: Any) -> np.ndarray:
    """Render a figure to an (H, W, 3) uint8 RGB array (for TensorBoard ``add_image``)."""
    return _render(fig)[..., :3].copy()


def _render(fig: Any) -> np.ndarray:
    """Draw ``fig`` once on its Agg canvas: (H, W, 4) uint8 RGBA at the figure's dpi."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def _save_png(rgba: np.ndarray, path: Path) -> Path:
    from PIL import Image
    return atomic_write(path, lambda tmp: Image.fromarray(rgba, "RGBA").save(tmp, format="png"))


def write_figure(fig: Any, path: Path, writer: Any = None, tag: str = "", step: int = 0) -> Path:
    """Save ``fig`` to ``path``; with a TensorBoard ``writer`` also log it as image ``tag``.
    The figure is drawn once for both (drawing, not encoding, is what costs)."""
    rgba = _render(fig)
    out = _save_png(rgba, path)
    if writer is not None:
        writer.add_image(tag, rgba[..., :3].copy(), step, dataformats="HWC")
    return out
