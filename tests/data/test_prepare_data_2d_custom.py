"""data/prepare_data_2d_custom.py on small inputs in the real COCO, OpenPose and VideoPose3D layouts."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data import keypoint_formats as kf
from data import prepare_data_2d_custom as prep

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "data" / "prepare_data_2d_custom.py"
FRAMES = 5
VELOCITY = np.array([3.0, 1.0])          # pixels per frame: linear motion, so interpolation is exact
_RNG = np.random.default_rng(0)
COCO_POSE = _RNG.uniform(200, 400, (17, 2))   # a person in COCO-17 order at frame 0


def coco_at(t: int, scale: float = 1.0) -> np.ndarray:
    """(17, 3) keypoints x, y, score of the person at frame t (scale < 1: a smaller person)."""
    xy = (COCO_POSE - 300) * scale + 300 + VELOCITY * t
    return np.concatenate([xy, np.full((17, 1), 0.9)], axis=1)


def expected_16(t: int) -> np.ndarray:
    return kf.COCO17.apply(coco_at(t)[:, :2])


def write_coco(path: Path, frames=(0, 1, 3, 4)) -> Path:
    """Results list; frame 2 absent, frame 1 has a second, smaller person listed first."""
    rows = []
    for t in frames:
        if t == 1:
            rows.append({"image_id": t, "category_id": 1, "score": 0.99,
                         "keypoints": coco_at(t, 0.5).reshape(-1).tolist()})
        rows.append({"image_id": t, "category_id": 1, "score": 0.95,
                     "keypoints": coco_at(t).reshape(-1).tolist()})
    path.write_text(json.dumps(rows))
    return path


def body25_at(t: int, scale: float = 1.0) -> np.ndarray:
    """The same person in BODY_25 order (Neck/MidHip/feet set to decoys)."""
    coco = coco_at(t, scale)
    out = np.zeros((25, 3))
    names = dict(zip(kf.COCO17_NAMES, coco))
    for i, name in enumerate(kf.BODY25_NAMES):
        side = {"L": "left_", "R": "right_"}.get(name[0], "")
        part = {"Shoulder": "shoulder", "Elbow": "elbow", "Wrist": "wrist", "Hip": "hip",
                "Knee": "knee", "Ankle": "ankle", "Eye": "eye", "Ear": "ear"}.get(name[1:])
        out[i] = names.get(side + part, names["nose"]) if part else (1, 1, 0.9)
    return out


def write_openpose(folder: Path, frames=(0, 1, 3, 4), lost_joint_frame: int | None = 3) -> Path:
    """One file per frame, frame 2 missing; frame 1 has a smaller second person first; at
    ``lost_joint_frame`` the right ankle is undetected (0, 0, 0) as OpenPose writes it."""
    folder.mkdir()
    for t in frames:
        people = [body25_at(t)]
        if t == 1:
            people.insert(0, body25_at(t, 0.5))
        if t == lost_joint_frame:
            people[-1][kf.BODY25_NAMES.index("RAnkle")] = 0
        doc = {"version": 1.3, "people": [
            {"person_id": [-1], "pose_keypoints_2d": p.reshape(-1).tolist(),
             "face_keypoints_2d": [], "hand_left_keypoints_2d": []} for p in people]}
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps(doc))
    return folder


def write_videopose3d(path: Path) -> Path:
    kp = np.stack([coco_at(t)[:, :2] for t in range(FRAMES)]).astype(np.float32)
    meta = {"layout_name": "coco", "num_joints": 17,
            "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
            "video_metadata": {"clip.mp4": {"w": 1280, "h": 720}}}
    np.savez_compressed(path, positions_2d={"clip.mp4": {"custom": [kp]}}, metadata=meta)
    return path


def convert(tmp_path: Path, src: Path, *flags: str) -> dict:
    out = tmp_path / "out.npz"
    assert prep.main(["--input", str(src), "--output", str(out), "--force", *flags]) == 0
    return kf.load_keypoints_16(out)


def test_coco_results_largest_person_and_interpolated_missing_frame(tmp_path):
    d = convert(tmp_path, write_coco(tmp_path / "res.json"), "--width", "640", "--height", "480")
    want = np.stack([expected_16(t) for t in range(FRAMES)])
    np.testing.assert_allclose(d["keypoints"], want, atol=1e-4)   # frame 2 = midpoint of 1 and 3
    np.testing.assert_array_equal(d["valid"], [True, True, False, True, True])
    assert (d["width"], d["height"], str(d["format"])) == (640, 480, "coco17")
    np.testing.assert_array_equal(d["frame"], np.arange(FRAMES))


def test_coco_person_rank_picks_the_smaller_person(tmp_path):
    d = convert(tmp_path, write_coco(tmp_path / "res.json"), "--width", "640", "--height", "480",
                "--person", "1")
    np.testing.assert_allclose(d["keypoints"][1], kf.COCO17.apply(coco_at(1, 0.5)[:, :2]), atol=1e-4)
    np.testing.assert_array_equal(d["valid"], [False, True, False, False, False])


def test_coco_dict_with_images_gives_size_and_trailing_missing_frame(tmp_path):
    rows = json.loads(write_coco(tmp_path / "r.json", frames=(0, 1, 2, 3)).read_text())
    doc = {"images": [{"id": t, "width": 800, "height": 600, "file_name": f"{t:06d}.jpg"}
                      for t in range(FRAMES)], "annotations": rows}
    src = tmp_path / "coco.json"
    src.write_text(json.dumps(doc))
    d = convert(tmp_path, src)
    assert (d["width"], d["height"]) == (800, 600)
    np.testing.assert_array_equal(d["valid"], [True, True, True, True, False])
    np.testing.assert_allclose(d["keypoints"][4], expected_16(3), atol=1e-4)   # held at the end


def test_openpose_folder_missing_frame_two_people_and_lost_joint(tmp_path):
    d = convert(tmp_path, write_openpose(tmp_path / "op"), "--width", "640", "--height", "480")
    want = np.stack([expected_16(t) for t in range(FRAMES)])
    np.testing.assert_allclose(d["keypoints"], want, atol=1e-4)
    np.testing.assert_array_equal(d["valid"], [True, True, False, True, True])
    assert str(d["format"]) == "body25"
    lost = ~d["joint_valid"]
    assert lost[2].all()                                  # the missing frame
    assert list(np.argwhere(lost[3]).ravel()) == [3]      # RFoot alone at frame 3


def test_videopose3d_custom_npz_takes_size_from_metadata(tmp_path):
    d = convert(tmp_path, write_videopose3d(tmp_path / "data_2d_custom_clip.npz"))
    np.testing.assert_allclose(d["keypoints"], np.stack([expected_16(t) for t in range(FRAMES)]),
                               atol=1e-4)
    assert (d["width"], d["height"]) == (1280, 720)
    assert d["valid"].all()


def test_videopose3d_nan_frames_are_missing(tmp_path):
    kp = np.stack([coco_at(t) for t in range(FRAMES)]).astype(np.float32)
    kp[2] = np.nan                                        # not detected, not yet interpolated
    np.savez_compressed(tmp_path / "c.npz", positions_2d={"v": {"custom": [kp]}},
                        metadata={"layout_name": "coco", "num_joints": 17,
                                  "video_metadata": {"v": {"w": 640, "h": 480}}})
    d = convert(tmp_path, tmp_path / "c.npz")
    np.testing.assert_array_equal(d["valid"], [True, True, False, True, True])
    np.testing.assert_allclose(d["keypoints"][2], expected_16(2), atol=1e-4)


def test_savitzky_golay_keeps_a_quadratic_and_damps_jitter():
    t = np.arange(21, dtype=float)
    quad = (0.5 * t ** 2 - 3 * t)[:, None, None] * np.ones((1, 16, 2))
    np.testing.assert_allclose(prep.smooth(quad, 7, 2), quad, atol=1e-8)
    jitter = quad + np.where(t % 2, 1.0, -1.0)[:, None, None]
    assert np.abs(prep.smooth(jitter, 7, 2) - quad).mean() < 0.5 * np.abs(jitter - quad).mean()


def test_existing_output_needs_force(tmp_path):
    src = write_coco(tmp_path / "res.json")
    out = tmp_path / "out.npz"
    out.write_bytes(b"mine")
    assert prep.main(["--input", str(src), "--output", str(out), "--width", "9", "--height", "9"]) == 2
    assert out.read_bytes() == b"mine"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def _no_person(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    for t in range(3):
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"people": []}))
    return folder


def _wrong_count(tmp_path: Path) -> Path:
    path = tmp_path / "short.json"
    path.write_text(json.dumps([{"image_id": 0, "keypoints": [1.0] * 50, "score": 1}]))
    return path


def _unreadable(tmp_path: Path) -> Path:
    path = tmp_path / "broken.json"
    path.write_text('[{"image_id": 0, "keypoints": [1, 2')
    return path


@pytest.mark.parametrize("make, message", [(_no_person, "no person in any frame"),
                                           (_wrong_count, "50 keypoint values; expected 51"),
                                           (_unreadable, "cannot read as JSON")])
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, make, message):
    src = make(tmp_path)
    proc = run_cli("--input", str(src), "--output", str(tmp_path / "o.npz"),
                   "--width", "640", "--height", "480")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert message in lines[0] and str(src) in lines[0]
    assert not (tmp_path / "o.npz").exists()


def test_missing_image_size_is_an_error(tmp_path):
    src = write_coco(tmp_path / "res.json")
    with pytest.raises(prep.DataError, match="--width W --height H"):
        prep.run(prep.parse_args(["--input", str(src), "--output", str(tmp_path / "o.npz")]))


def test_format_is_guessed_from_the_input_and_checked(tmp_path):
    folder = write_openpose(tmp_path / "op")
    coco = write_coco(tmp_path / "res.json")
    assert prep.guess_format(folder) == "openpose"
    assert prep.guess_format(coco) == "coco"
    assert prep.guess_format(tmp_path / "x.npz") == "videopose3d"
    with pytest.raises(prep.DataError, match="cannot guess the format"):
        prep.guess_format(tmp_path / "x.txt")
    with pytest.raises(prep.DataError, match="is a folder"):
        prep.read_detections(folder, "coco")
    with pytest.raises(prep.DataError, match="a folder of per-frame JSON files"):
        prep.read_detections(coco, "openpose")
