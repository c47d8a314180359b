"""Pictures of a lifted track: the 2D input beside the 3D skeleton (docs/inference.md#lifting).

``.gif`` (written by Pillow, no ffmpeg needed) and ``.mp4`` (piped to ffmpeg, only when it is on
PATH) are animations; ``.png`` is a grid of evenly spaced frames (2D above 3D). Matplotlib is
used through its object API with the Agg canvas (no pyplot, no global backend switch). An
animation draws the axes once and then only the moving lines of each frame (blitting), which is
many times faster than redrawing the figure. The 3D view is the camera frame turned upright:
x right, depth into the page, -y up. Files are written atomically.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from utils.io import DataError, atomic_write
from utils.skeleton import JOINTS_LEFT, JOINTS_RIGHT, PARENTS

SUFFIXES = (".gif", ".mp4", ".png")
MAX_ANIMATION_FRAMES = 300   # longer tracks are shown every k-th frame
GRID_FRAMES = 8
_BONES = [(p, c) for c, p in enumerate(PARENTS) if p >= 0]
_COLOURS = ["tab:red" if c in JOINTS_RIGHT else "tab:blue" if c in JOINTS_LEFT else "black"
            for _, c in _BONES]


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(fig)
    return fig


def _upright(pose3d: np.ndarray) -> np.ndarray:
    """Camera frame (x right, y down, z forward) -> plot axes (x, z, -y)."""
    return np.stack([pose3d[..., 0], pose3d[..., 2], -pose3d[..., 1]], axis=-1)


class _Panels:
    """One 2D and one 3D axis with a line per bone; ``show(f)`` moves them to frame f and
    returns the artists that changed."""

    def __init__(self, ax2d: Any, ax3d: Any, kp: np.ndarray, pose: np.ndarray,
                 width: int, height: int, valid: np.ndarray) -> None:
        self.kp, self.pose, self.valid = kp, pose, valid
        self.ax2d, self.ax3d = ax2d, ax3d
        self.lines2d = [ax2d.plot([], [], color=c, lw=2)[0] for c in _COLOURS]
        self.lines3d = [ax3d.plot([], [], [], color=c, lw=2)[0] for c in _COLOURS]
        ax2d.set_xlim(0, width)
        ax2d.set_ylim(height, 0)
        ax2d.set_aspect("equal")
        r = max(float(np.abs(pose).max()), 0.1)
        for set_lim in (ax3d.set_xlim, ax3d.set_ylim, ax3d.set_zlim):
            set_lim(-r, r)
        for ax in (ax2d, ax3d):
            ax.tick_params(labelsize=5)
        ax3d.set_title("3D (root-relative, m)", fontsize=8)

    def show(self, f: int) -> list:
        for line, (p, c) in zip(self.lines2d, _BONES):
            line.set_data(self.kp[f, [p, c], 0], self.kp[f, [p, c], 1])
            line.set_linestyle("-" if self.valid[f] else "--")
        for line, (p, c) in zip(self.lines3d, _BONES):
            seg = self.pose[f, [p, c]]
            line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
        tag = "" if self.valid[f] else " (interpolated)"
        self.ax2d.set_title(f"2D input, frame {f}{tag}", fontsize=8)
        return self.lines2d + self.lines3d + [self.ax2d.title]


def _frames(fig: Any, panels: _Panels, indices: list[int]) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 images: the static axes drawn once, then the moving artists per frame."""
    for artist in panels.show(indices[0]):
        artist.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    for f in tqdm(indices, desc="rendering", unit="frame", leave=False, disable=len(indices) < 50):
        fig.canvas.restore_region(background)
        for artist in panels.show(f):
            fig.draw_artist(artist)
        yield np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _save_gif(tmp: str, frames: Iterator[np.ndarray], fps: float) -> None:
    from PIL import Image
    # few colours on a white page: a fast 64-colour palette per frame is exact enough
    images = [Image.fromarray(a).quantize(64, method=Image.Quantize.FASTOCTREE) for a in frames]
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=max(round(1000 / fps), 20), loop=0)


def _save_mp4(tmp: str, frames: Iterator[np.ndarray], fps: float, size: tuple[int, int]) -> None:
    cmd = [shutil.which("ffmpeg") or "ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", f"{fps:g}", "-i", "-",
           "-pix_fmt", "yuv420p", "-f", "mp4", tmp]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for a in frames:
            proc.stdin.write(a.tobytes())
    except BrokenPipeError:
        pass
    _, err = proc.communicate()
    if proc.returncode != 0:
        text = err.decode(errors="replace").strip().splitlines()
        raise DataError(f"ffmpeg failed writing the video: {text[0] if text else proc.returncode}")


def render_animation(path: Path, kp: np.ndarray, pose: np.ndarray, width: int, height: int,
                     valid: np.ndarray, fps: float) -> Path:
    step = math.ceil(len(kp) / MAX_ANIMATION_FRAMES)
    fig = _figure(8, 4)
    panels = _Panels(fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2, projection="3d"),
                     kp, pose, width, height, valid)
    frames = _frames(fig, panels, list(range(0, len(kp), step)))
    rate = max(fps / step, 1.0)
    if path.suffix.lower() == ".gif":
        return atomic_write(path, lambda tmp: _save_gif(tmp, frames, rate))
    size = tuple(int(v) for v in fig.canvas.get_width_height())
    return atomic_write(path, lambda tmp: _save_mp4(tmp, frames, rate, size))


def render_grid(path: Path, kp: np.ndarray, pose: np.ndarray, width: int, height: int,
                valid: np.ndarray) -> Path:
    frames = np.unique(np.linspace(0, len(kp) - 1, min(GRID_FRAMES, len(kp))).round().astype(int))
    k = len(frames)
    fig = _figure(2.2 * k, 4.6)
    for i, f in enumerate(frames):
        panels = _Panels(fig.add_subplot(2, k, i + 1),
                         fig.add_subplot(2, k, k + i + 1, projection="3d"),
                         kp, pose, width, height, valid)
        panels.show(int(f))
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def render(path: str | os.PathLike, keypoints: np.ndarray, pose3d: np.ndarray, width: int,
           height: int, valid: np.ndarray | None = None, fps: float = 25.0) -> Path:
    """Draw keypoints (N, 16, 2) pixels beside pose3d (N, 16, 3) camera-frame metres to ``path``
    (.gif, .mp4 or .png); ``valid`` (N,) False marks interpolated frames (dashed 2D)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"--render {path}: expected a file name ending in {', '.join(SUFFIXES)}")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise DataError(f"--render {path}: writing .mp4 needs ffmpeg on PATH; install it or "
                        f"render a .gif (no ffmpeg needed)")
    kp, pose = np.asarray(keypoints, np.float64), np.asarray(pose3d, np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (16, 2) or pose.shape != kp.shape[:2] + (3,) or not len(kp):
        raise DataError(f"--render: expected (N, 16, 2) keypoints and (N, 16, 3) poses, got "
                        f"{kp.shape} and {pose.shape}")
    pose = _upright(pose - pose[:, :1])
    valid = np.ones(len(kp), bool) if valid is None else np.asarray(valid, bool)
    if suffix == ".png":
        return render_grid(path, kp, pose, width, height, valid)
    return render_animation(path, kp, pose, width, height, valid, fps)
