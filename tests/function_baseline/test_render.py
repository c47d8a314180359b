"""function_baseline/render.py: GIF and PNG files, frame counts, and the refused cases."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image

from function_baseline import render
from utils.io import DataError


def track(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    kp = rng.uniform(100, 300, (n, 16, 2))
    pose = rng.normal(0, 0.3, (n, 16, 3)) + [0, 0, 4]
    return kp, pose


def test_gif_has_one_frame_per_input_frame(tmp_path):
    kp, pose = track(4)
    out = render.render(tmp_path / "a.gif", kp, pose, 400, 300, valid=[True, False, True, True])
    assert out.stat().st_size > 0 and out.read_bytes()[:4] == b"GIF8"
    with Image.open(out) as im:
        assert im.n_frames == 4
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]     # no temporary file left


def test_long_track_is_shown_every_kth_frame(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "MAX_ANIMATION_FRAMES", 4)
    kp, pose = track(10)
    with Image.open(render.render(tmp_path / "b.gif", kp, pose, 400, 300)) as im:
        assert im.n_frames == 4                                  # frames 0, 3, 6, 9


def test_png_grid(tmp_path):
    kp, pose = track(3)
    out = render.render(tmp_path / "grid.png", kp, pose, 400, 300)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as im:
        w, h = im.size
    assert w > h > 0           # three columns of 2D above 3D


def test_mp4_without_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    kp, pose = track(2)
    with pytest.raises(DataError, match="needs ffmpeg on PATH"):
        render.render(tmp_path / "a.mp4", kp, pose, 400, 300)
    assert not (tmp_path / "a.mp4").exists()


FAKE_FFMPEG = """#!{python}
import sys
args = sys.argv[1:]
data = sys.stdin.buffer.read()
if {fail}:
    sys.stderr.write("Unknown encoder\\n")
    sys.exit(1)
w, h = args[args.index("-s") + 1].split("x")
with open(args[-1], "w") as fh:
    fh.write(f"{{len(data)}} {{w}} {{h}} {{args[args.index('-f', 6) + 1]}}")
"""


def fake_ffmpeg(tmp_path, monkeypatch, fail: bool) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "ffmpeg"
    exe.write_text(FAKE_FFMPEG.format(python=sys.executable, fail=fail))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_mp4_frames_are_piped_to_ffmpeg(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, fail=False)
    kp, pose = track(3)
    out = render.render(tmp_path / "a.mp4", kp, pose, 400, 300)
    size, w, h, container = out.read_text().split()
    assert int(size) == 3 * int(w) * int(h) * 3 and container == "mp4"   # 3 RGB frames


def test_ffmpeg_failure_is_one_error_and_no_file(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, fail=True)
    kp, pose = track(2)
    with pytest.raises(DataError, match="ffmpeg failed writing the video: Unknown encoder"):
        render.render(tmp_path / "a.mp4", kp, pose, 400, 300)
    assert not (tmp_path / "a.mp4").exists()


@pytest.mark.parametrize("name", ["a.avi", "noext"])
def test_unknown_suffix_is_refused(tmp_path, name):
    kp, pose = track(2)
    with pytest.raises(DataError, match=r"\.gif, \.mp4, \.png"):
        render.render(tmp_path / name, kp, pose, 400, 300)
