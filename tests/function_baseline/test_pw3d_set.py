"""function_baseline/pw3d_set.py: the 3DPW file as a PoseSet and its P1/P2."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from torch import nn

from data_extra.prepare_data_3dpw import save_test_3dpw
from function_baseline.model_pos_preparation import build_lifter_pair
from function_baseline.pw3d_set import evaluate_3dpw, load_3dpw
from utils import camera
from utils.skeleton import flip_pose, root_relative


def write_test_file(path, n: int = 10) -> dict:
    """Two recordings (three tracks); 2D = projection of the camera-frame 3D."""
    rng = np.random.default_rng(0)
    pose3d = rng.normal(0, 0.3, (n, 16, 3)) + [0.2, 0.1, 4.0]
    cam9 = np.array([3.6, 3.6, 0.01, 0.02, 0, 0, 0, 0, 0], np.float64)
    pose2d = camera.project_to_2d(torch.from_numpy(pose3d), torch.from_numpy(cam9)).numpy()
    d = {"pose3d": pose3d, "pose2d": pose2d, "camera": np.tile(cam9, (n, 1)),
         "sequence": np.array([0] * 4 + [1] * 3 + [2] * 3), "frame": np.arange(n),
         "sequence_names": ["walk_00/person0", "walk_00/person1", "run_01/person0"],
         "width": np.full(n, 1080), "height": np.full(n, 1920)}
    save_test_3dpw(path, d)
    return d


def test_off_and_missing_file(tmp_path):
    lines = []
    assert load_3dpw("", lines.append) is None and lines == []
    assert load_3dpw(str(tmp_path / "none.npz"), lines.append) is None
    assert len(lines) == 1 and "3DPW evaluation is skipped" in lines[0]


def test_pose_set_layout(tmp_path):
    d = write_test_file(tmp_path / "test_3dpw.npz")
    s = load_3dpw(str(tmp_path / "test_3dpw.npz"))
    assert s.pose2d.shape == (10, 16, 2) and s.pose3d.shape == (10, 16, 3)
    assert s.camera.shape == (10, 16)
    assert s.sequence.tolist() == d["sequence"].tolist()
    assert s.action_names == ("walk_00", "run_01") and s.action.tolist() == [0] * 7 + [1] * 3
    # identity extrinsics: the 16-value camera maps the stored 3D onto the stored 2D
    proj = camera.world_to_screen(s.pose3d.double(), s.camera.double())
    torch.testing.assert_close(proj.float(), s.pose2d, atol=1e-5, rtol=0)


class ZeroLifter(nn.Module):
    """Predicts every joint at the origin (flip-invariant)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 16, 3, dtype=x.dtype)


def test_metrics_of_a_zero_prediction_by_hand(tmp_path):
    d = write_test_file(tmp_path / "test_3dpw.npz")
    res = evaluate_3dpw(ZeroLifter(), load_3dpw(str(tmp_path / "test_3dpw.npz")))
    target = d["pose3d"].astype(np.float32).astype(np.float64)
    rel = target - target[:, :1]
    # P1: mean distance of each joint from the root
    assert res["p1"] == pytest.approx(np.linalg.norm(rel, axis=-1).mean() * 1000, rel=1e-5)
    # P2: the best similarity transform of a point collapses it onto the GT centroid
    centred = target - target.mean(axis=1, keepdims=True)
    assert res["p2"] == pytest.approx(np.linalg.norm(centred, axis=-1).mean() * 1000, rel=1e-5)


class ConstantLifter(nn.Module):
    """Predicts one fixed, left/right-asymmetric pose whatever the input."""

    def __init__(self, pose: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("pose", torch.from_numpy(pose).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pose.expand(x.shape[0], 16, 3)


def test_flip_augmentation_averages_the_mirrored_prediction(tmp_path):
    d = write_test_file(tmp_path / "test_3dpw.npz")
    const = np.random.default_rng(5).normal(0, 0.3, (16, 3))
    res = evaluate_3dpw(ConstantLifter(const), load_3dpw(str(tmp_path / "test_3dpw.npz")))
    mirrored = const * [-1, 1, 1]
    left, right = [4, 5, 6, 10, 11, 12], [1, 2, 3, 13, 14, 15]
    mirrored[left + right] = mirrored[right + left]
    pred = (const + mirrored) / 2
    pred = pred - pred[:1]
    target = d["pose3d"].astype(np.float32).astype(np.float64)
    want = np.linalg.norm(pred[None] - (target - target[:, :1]), axis=-1).mean() * 1000
    assert res["p1"] == pytest.approx(want, rel=1e-5)


def test_video_lifter_sees_each_track_as_a_sequence(tmp_path):
    write_test_file(tmp_path / "test_3dpw.npz")
    data = load_3dpw(str(tmp_path / "test_3dpw.npz"))
    ns = argparse.Namespace(posenet_name="mulit_farme_videopose", stages=1, dropout=0.25,
                            architecture="3")
    _, model = build_lifter_pair(ns, torch.Generator().manual_seed(0))
    model.eval()
    tracks = [torch.nonzero(data.sequence == s).squeeze(1) for s in range(3)]
    per_track = [evaluate_3dpw(model, data.index(rows), frames=3)["p1"] for rows in tracks]
    whole = evaluate_3dpw(model, data, frames=3)["p1"]
    sizes = [len(rows) for rows in tracks]
    assert whole == pytest.approx(np.dot(per_track, sizes) / sum(sizes), rel=1e-5)
    # the first track by hand: edge-padded by one frame, averaged with its mirrored prediction
    x = data.pose2d[tracks[0]]
    x = torch.cat([x[:1], x, x[-1:]]).unsqueeze(0)
    with torch.no_grad():
        pred = (model(x)[0] + flip_pose(model(flip_pose(x))[0])) / 2
    err = torch.linalg.vector_norm(root_relative(pred) - root_relative(data.pose3d[tracks[0]]), dim=-1)
    assert per_track[0] == pytest.approx(float(err.mean()) * 1000, rel=1e-5)
