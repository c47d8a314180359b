"""--infer: lifting H36M-format 2D pixels gives exactly the predictions of the evaluation path
for the same frames and checkpoint, single-frame and video."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from data import h36m_format as fmt
from data.keypoint_formats import save_keypoints_16
from function_baseline.data_preparation import load_datasets
from function_baseline.evaluate import EVAL_BATCH, predict, predict_video
from function_baseline.infer import lift_single_frame, lift_video, normalise_pixels
from function_baseline.infer_command import infer_checkpoint
from function_baseline.model_pos_preparation import build_lifter_pair
from function_baseline.pose_set import PoseSet
from function_baseline.video_windows import VideoWindows
from utils.checkpoint import save_checkpoint
from utils.config import parse_args
from utils.io import DataError
from utils.skeleton import root_relative


@pytest.fixture(scope="module")
def s9_sequence(tiny_h36m, tmp_path_factory) -> dict:
    """The first S9 test sequence (camera 54138969, 1000x1002): its pixels and its PoseSet rows."""
    extra = tmp_path_factory.mktemp("extra")
    data = load_datasets(parse_args(["--data_dir", str(tiny_h36m), "--data_extra_dir", str(extra)]),
                         log=lambda _: None)
    test = data.test_h36m
    rows = torch.nonzero(test.sequence == 0).squeeze(1)
    assert test.subject_names[int(test.subject[rows[0]])] == "S9"
    pixels = fmt.load_positions_2d(fmt.file_2d(tiny_h36m, "gt"))["S9"]["Sitting 1"][0]
    return {"pixels": pixels, "pose2d": test.pose2d[rows], "sequence": test.sequence[rows]}


def make_checkpoint(path: Path, **flags) -> tuple[Path, torch.nn.Module, torch.nn.Module]:
    ns = argparse.Namespace(**{"stages": 1, "dropout": 0.25, "architecture": "3,3,3", **flags})
    train_model, eval_model = build_lifter_pair(ns, torch.Generator().manual_seed(7))
    save_checkpoint(path, {"epoch": 0, "model_pos": train_model.state_dict(), "args": vars(ns)})
    return path, train_model.eval(), eval_model.eval()


def run_infer(tmp_path: Path, ckpt: Path, pixels: np.ndarray, *extra: str) -> dict:
    src = save_keypoints_16(tmp_path / "clip.npz", pixels, np.ones(len(pixels), bool), 1000, 1002,
                            "h36m16")
    out = tmp_path / "clip_3d.npz"
    args = parse_args(["--evaluate", str(ckpt), "--infer", str(src), "--infer_output", str(out),
                       "--device", "cpu", *extra])
    assert infer_checkpoint(args) == 0
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def test_pixels_normalise_exactly_like_the_data_loader(s9_sequence):
    assert torch.equal(normalise_pixels(s9_sequence["pixels"], 1000, 1002), s9_sequence["pose2d"])


@pytest.mark.parametrize("name", ["videopose", "gcn"])
def test_single_frame_infer_equals_evaluation_predict(tmp_path, s9_sequence, name):
    ckpt, _, eval_model = make_checkpoint(tmp_path / "ckpt.pth.tar", posenet_name=name)
    extra = ("--render", str(tmp_path / "clip.gif")) if name == "videopose" else ()
    out = run_infer(tmp_path, ckpt, s9_sequence["pixels"], *extra)
    want = predict(eval_model, s9_sequence["pose2d"]).numpy()
    assert out["pose3d"].shape == (len(want), 16, 3)
    np.testing.assert_array_equal(out["pose3d"], want)              # bit for bit
    np.testing.assert_array_equal(out["pose2d"], s9_sequence["pixels"])
    assert str(out["posenet_name"]) == name and int(out["receptive_field"]) == 1
    if extra:
        assert (tmp_path / "clip.gif").stat().st_size > 0


def test_long_inputs_are_lifted_in_the_evaluation_batches():
    ns = argparse.Namespace(posenet_name="mlp", stages=1, dropout=0.25, architecture="3")
    _, model = build_lifter_pair(ns, torch.Generator().manual_seed(5))
    pose2d = torch.rand(2 * EVAL_BATCH + 5, 16, 2, generator=torch.Generator().manual_seed(6))
    assert torch.equal(lift_single_frame(model, pose2d), predict(model, pose2d))


def edge_padded(seq: torch.Tensor, pad: int) -> torch.Tensor:
    return torch.cat([seq[:1].expand(pad, -1, -1), seq, seq[-1:].expand(pad, -1, -1)])


def test_video_infer_equals_the_video_evaluation_path(tmp_path, s9_sequence):
    ckpt, train_model, eval_model = make_checkpoint(
        tmp_path / "ckpt.pth.tar", posenet_name="mulit_farme_videopose", architecture="3,3")
    out = run_infer(tmp_path, ckpt, s9_sequence["pixels"])
    pose2d = s9_sequence["pose2d"]
    rows = PoseSet(pose2d=pose2d, pose3d=torch.zeros(len(pose2d), 16, 3),
                   camera=torch.zeros(len(pose2d), 16), action=torch.zeros(len(pose2d)).long(),
                   subject=torch.zeros(len(pose2d)).long(), sequence=s9_sequence["sequence"])
    assert int(out["receptive_field"]) == 9 and len(pose2d) < 9   # every window is padded
    np.testing.assert_array_equal(out["pose3d"], predict_video(eval_model, rows, 9).numpy())
    with torch.no_grad():   # by hand: the dilated TCN on the edge-padded sequence, and the
        whole = root_relative(eval_model(edge_padded(pose2d, 4).unsqueeze(0))[0])
        windows = VideoWindows(s9_sequence["sequence"], 9)      # training form on windows
        strided = root_relative(train_model(pose2d[windows.rows(torch.arange(len(pose2d)))])[:, 0])
    torch.testing.assert_close(torch.from_numpy(out["pose3d"]), whole, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(strided, whole, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name, architecture", [("mulit_farme_videopose", "3,3"),
                                                ("mulit_farme_poseformer", "3")])
def test_long_video_tracks_in_pieces_equal_one_piece(s9_sequence, name, architecture):
    ns = argparse.Namespace(posenet_name=name, stages=1, dropout=0.25, architecture=architecture)
    _, model = build_lifter_pair(ns, torch.Generator().manual_seed(3))
    frames = 9 if name == "mulit_farme_videopose" else 3
    seq = torch.cat([s9_sequence["pose2d"], s9_sequence["pose2d"].flip(0)] * 3)   # 36 frames
    whole = lift_video(model, seq, frames, piece=len(seq))
    torch.testing.assert_close(lift_video(model, seq, frames, piece=7), whole, atol=1e-5, rtol=1e-5)


def test_poseformer_windows_are_edge_padded_per_frame(s9_sequence):
    ns = argparse.Namespace(posenet_name="mulit_farme_poseformer", stages=1, dropout=0.25,
                            architecture="3")
    _, model = build_lifter_pair(ns, torch.Generator().manual_seed(4))
    model.eval()
    seq = s9_sequence["pose2d"]
    n = len(seq)
    hand = torch.stack([seq[[min(max(t + o, 0), n - 1) for o in (-1, 0, 1)]] for t in range(n)])
    with torch.no_grad():
        want = root_relative(model(hand)[:, 0])
    torch.testing.assert_close(lift_video(model, seq, 3), want, atol=1e-6, rtol=1e-6)


def test_infer_needs_a_checkpoint_and_a_separate_output(tmp_path, s9_sequence):
    src = save_keypoints_16(tmp_path / "c.npz", s9_sequence["pixels"], np.ones(6, bool), 1000,
                            1002, "h36m16")
    with pytest.raises(DataError, match="--infer needs --evaluate"):
        infer_checkpoint(parse_args(["--infer", str(src)]))
    with pytest.raises(DataError, match="would overwrite the --infer input"):
        infer_checkpoint(parse_args(["--evaluate", "x.pth.tar", "--infer", str(src),
                                     "--infer_output", str(src)]))
