"""data_extra/prepare_data_3dpw.py on two 3DPW sequence files written as Python-2 pickles (one
portrait, one landscape recording) and on the shared 16-joint npz layouts."""
from __future__ import annotations

import io
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from data_extra import prepare_data_3dpw as p3
from utils.camera import image_coordinates, project_to_2d
from utils.io import DataError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "data_extra" / "prepare_data_3dpw.py"
FRAMES = 6
K_PORTRAIT = np.array([[1961.0, 0, 540.5], [0, 1969.0, 959.2], [0, 0, 1]])
K_LANDSCAPE = np.array([[1480.0, 0, 961.3], [0, 1482.0, 538.7], [0, 0, 1]])
# Our 16 joints from SMPL-24 written out by hand (Spine = midpoint of pelvis and neck).
SMPL_ONE_TO_ONE = {0: 0, 1: 2, 2: 5, 3: 8, 4: 1, 5: 4, 6: 7, 8: 12, 9: 15, 10: 16, 11: 18,
                   12: 20, 13: 17, 14: 19, 15: 21}


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python-2 byte strings, as the official files hold them."""
    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        head = (pickle.SHORT_BINSTRING + bytes([len(data)]) if len(data) < 256
                else pickle.BINSTRING + struct.pack("<i", len(data)))
        self.write(head + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_string
    dispatch[str] = save_py2_string


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def rotation(rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def smpl_to_16(j24: np.ndarray) -> np.ndarray:
    out = np.zeros(j24.shape[:-2] + (16, 3))
    for ours, smpl in SMPL_ONE_TO_ONE.items():
        out[..., ours, :] = j24[..., smpl, :]
    out[..., 7, :] = (j24[..., 0, :] + j24[..., 12, :]) / 2
    return out


def make_sequence(name: str, K: np.ndarray, valid: list, seed: int) -> tuple[dict, dict]:
    """A 3DPW sequence dict and, per person, the hand-computed camera frame 3D and pixels."""
    rng = np.random.default_rng(seed)
    cams = np.tile(np.eye(4), (FRAMES, 1, 1))
    joints, truth = [], []
    body = rng.uniform(-0.4, 0.4, (24, 3)) * [1, 2.2, 0.5]
    for person, _ in enumerate(valid):
        world = body + rng.normal(0, 0.02, (FRAMES, 24, 3)) + [1.5 * person, 0, 0]
        joints.append(world.reshape(FRAMES, 72))
    for f in range(FRAMES):
        R = rotation(rng)
        centre = joints[0][f].reshape(24, 3).mean(0)
        cams[f, :3, :3] = R
        cams[f, :3, 3] = np.array([rng.uniform(-0.3, 0.3), 0.1, rng.uniform(3, 6)]) - R @ centre
    for world in joints:
        cam = np.stack([(cams[f, :3, :3] @ smpl_to_16(world[f].reshape(24, 3)).T).T + cams[f, :3, 3]
                        for f in range(FRAMES)])
        uvw = cam @ K.T
        truth.append({"cam": cam, "px": uvw[..., :2] / uvw[..., 2:]})
    seq = {"sequence": name, "betas": [np.zeros(10)] * len(valid),
           "poses": [np.zeros((FRAMES, 72))] * len(valid), "trans": [np.zeros((FRAMES, 3))] * len(valid),
           "jointPositions": joints, "cam_poses": cams, "cam_intrinsics": K,
           "campose_valid": [np.asarray(v, bool) for v in valid],
           "img_frame_ids": np.arange(FRAMES) * 2 + 10, "gender": ["m"] * len(valid)}
    return seq, truth


@pytest.fixture()
def sequence_files(tmp_path) -> tuple[Path, dict]:
    folder = tmp_path / "sequenceFiles" / "test"
    folder.mkdir(parents=True)
    portrait = make_sequence("downtown_walk_00", K_PORTRAIT,
                             [[1] * FRAMES, [1, 1, 0, 1, 1, 1]], seed=0)
    landscape = make_sequence("outdoors_run_01", K_LANDSCAPE, [[1, 1, 1, 1, 1, 0]], seed=1)
    for seq, _ in (portrait, landscape):
        (folder / f"{seq['sequence']}.pkl").write_bytes(py2_pickle(seq))
    return folder, {"portrait": portrait[1], "landscape": landscape[1]}


def prepare(tmp_path: Path, src: Path) -> dict:
    assert p3.main(["--input", str(src), "--output-dir", str(tmp_path / "extra")]) == 0
    return p3.load_test_3dpw(p3.file_3dpw(tmp_path / "extra"))


def test_files_are_python2_pickles(sequence_files):
    folder, _ = sequence_files
    raw = (folder / "downtown_walk_00.pkl").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(raw)                       # needs encoding='latin1', as the real files do
    assert p3.load_pkl(folder / "downtown_walk_00.pkl")["sequence"] == "downtown_walk_00"


def test_sequences_sizes_and_valid_frames(tmp_path, sequence_files):
    folder, _ = sequence_files
    d = prepare(tmp_path, folder.parent)        # the sequenceFiles root: test/ is used
    assert d["sequence_names"] == ("downtown_walk_00/person0", "downtown_walk_00/person1",
                                   "downtown_walk_00/person1/part1", "outdoors_run_01/person0")
    counts = np.bincount(d["sequence"])
    assert counts.tolist() == [6, 2, 3, 5]
    portrait = d["sequence"] < 3
    assert (d["width"][portrait] == 1080).all() and (d["height"][portrait] == 1920).all()
    assert (d["width"][~portrait] == 1920).all() and (d["height"][~portrait] == 1080).all()
    np.testing.assert_array_equal(d["frame"][d["sequence"] == 2], [16, 18, 20])  # img_frame_ids


def test_camera_frame_3d_reprojects_to_the_gt_2d(tmp_path, sequence_files):
    folder, truth = sequence_files
    d = prepare(tmp_path, folder)
    rows = {0: (truth["portrait"][0], slice(None)), 1: (truth["portrait"][1], [0, 1]),
            2: (truth["portrait"][1], [3, 4, 5]), 3: (truth["landscape"][0], slice(0, 5))}
    for s, (t, frames) in rows.items():
        sel = d["sequence"] == s
        np.testing.assert_allclose(d["pose3d"][sel], t["cam"][frames], atol=2e-6)
        w, h = float(d["width"][sel][0]), float(d["height"][sel][0])
        cam = torch.from_numpy(d["camera"][sel]).double()
        px = image_coordinates(project_to_2d(torch.from_numpy(d["pose3d"][sel]).double(), cam), w, h)
        assert np.abs(px.numpy() - t["px"][frames]).max() < 1e-3
        stored = image_coordinates(torch.from_numpy(d["pose2d"][sel]).double(), w, h).numpy()
        assert np.abs(stored - t["px"][frames]).max() < 1e-3


def test_adaptpose_npz_is_reordered_and_ours_kept(tmp_path):
    rng = np.random.default_rng(2)
    p3d = rng.normal(0, 0.3, (7, 16, 3)) + [0, 0, 4]
    p2d = rng.uniform(-0.9, 0.9, (7, 16, 2))
    swap = [0, 4, 5, 6, 1, 2, 3] + list(range(7, 16))     # their left leg first
    np.savez(tmp_path / "data_3dpw_gt_test.npz", positions_3d=p3d[:, swap], positions_2d=p2d[:, swap])
    d = prepare(tmp_path, tmp_path / "data_3dpw_gt_test.npz")
    np.testing.assert_allclose(d["pose3d"], p3d, atol=1e-6)
    np.testing.assert_allclose(d["pose2d"], p2d, atol=1e-6)
    assert (d["camera"] == 0).all() and (d["sequence"] == 0).all()

    np.savez(tmp_path / "ours.npz", pose3d=p3d, pose2d=p2d, seq_id=np.array([3] * 4 + [5] * 3))
    assert p3.main(["--input", str(tmp_path / "ours.npz"), "--output-dir", str(tmp_path / "o2")]) == 0
    d = p3.load_test_3dpw(p3.file_3dpw(tmp_path / "o2"))
    np.testing.assert_allclose(d["pose3d"], p3d, atol=1e-6)
    assert d["sequence"].tolist() == [0] * 4 + [1] * 3


@pytest.mark.parametrize("scale3d, scale2d, message", [(1000, 1, "expected metres"),
                                                       (1, 500, "not pixels")])
def test_shared_npz_in_wrong_units_is_refused(tmp_path, scale3d, scale2d, message):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "s.npz", pose3d=rng.normal(0, 0.3, (4, 16, 3)) * scale3d,
             pose2d=rng.uniform(-0.9, 0.9, (4, 16, 2)) * scale2d)
    with pytest.raises(DataError, match=message):
        p3.convert_shared_npz(tmp_path / "s.npz")


def test_loader_points_adaptpose_files_to_the_script(tmp_path):
    np.savez(tmp_path / "a.npz", positions_3d=np.zeros((2, 16, 3)), positions_2d=np.zeros((2, 16, 2)))
    with pytest.raises(DataError, match="prepare_data_3dpw.py --input"):
        p3.load_test_3dpw(tmp_path / "a.npz")


def test_corrupt_pickle_is_one_error_line_and_exit_2(tmp_path):
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(py2_pickle({"sequence": "x"})[:-5])
    proc = subprocess.run([sys.executable, str(SCRIPT), "--input", str(bad), "--output-dir",
                           str(tmp_path / "extra")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0]
    assert not p3.file_3dpw(tmp_path / "extra").exists()
