"""data/prepare_data_2d_h36m_detections.py on tiny VideoPose3D / EvoSkeleton files in their real layouts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data import h36m_format as fmt
from data import prepare_data_2d_h36m_detections as det
from utils import skeleton
from utils.camera import H36M_CAMERA_IDS

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "data" / "prepare_data_2d_h36m_detections.py"
KEEP_17 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]   # VideoPose3D order minus Neck/Nose
MOCAP_LENGTHS = {"S1": {"Walking 1": 4, "Eating 2": 3}, "S9": {"Posing": 5, "Photo 1": 2}}


def make_3d(path: Path) -> Path:
    rng = np.random.default_rng(0)
    return fmt.save_positions_3d(path, {s: {a: rng.normal(size=(n, 32, 3)) for a, n in acts.items()}
                                        for s, acts in MOCAP_LENGTHS.items()})


def coded(n: int, joints: int, channels: int, cam: int, seed: int) -> np.ndarray:
    """Detections whose values say where they came from: frame*1000 + joint*10 + channel + cam/10."""
    f, j, c = np.meshgrid(np.arange(n), np.arange(joints), np.arange(channels), indexing="ij")
    return (f * 1000 + j * 10 + c + cam / 10 + seed * 1e5).astype(np.float32)


def make_videopose3d(path: Path, channels: int = 2, lengths: dict | None = None,
                     joints: int = 17) -> Path:
    """VideoPose3D layout: one over-long sequence and one action absent from the 3D file."""
    lengths = lengths or {"S1": {"Walking 1": 7, "Eating 2": 3, "Extra 1": 2},
                          "S9": {"Posing": 5, "Photo 1": 4}}
    data = {s: {a: [coded(n, joints, channels, cam, 0) for cam in range(4)] for a, n in acts.items()}
            for s, acts in lengths.items()}
    np.savez_compressed(path, positions_2d=np.array(data, dtype=object),
                        metadata=np.array(fmt.DETECTED_17_METADATA, dtype=object))
    return path


def make_hr(folder: Path, drop: tuple | None = None) -> tuple[Path, Path]:
    """EvoSkeleton layout: {(subject number, category, '<Action>.<camera>.h5'): (N', 64) pixels}."""
    train, test = {}, {}
    seqs = [(1, "Walking", "Walking 1", 6), (1, "Eating", "Eating 2", 3), (1, "Extra", "Extra 1", 2),
            (9, "Posing", "Posing", 5), (9, "Photo", "TakingPhoto 1", 3)]
    for subject, category, seq, n in seqs:
        for cam, cam_id in enumerate(H36M_CAMERA_IDS):
            if drop == (subject, seq, cam_id):
                continue
            value = coded(n, 32, 2, cam, 1).reshape(n, 64).astype(np.float64)
            (train if subject == 1 else test)[(subject, category, f"{seq}.{cam_id}.h5")] = value
    paths = folder / "twoDPose_HRN_train.npy", folder / "twoDPose_HRN_test.npy"
    np.save(paths[0], train, allow_pickle=True)
    np.save(paths[1], test, allow_pickle=True)
    return paths


def load(path: Path) -> tuple[dict, dict, list]:
    with np.load(path, allow_pickle=True) as z:
        return z["positions_2d"].item(), z["metadata"].item(), sorted(z.files)


def test_converts_all_three_sources_as_a_user_runs_it(tmp_path, run_script):
    data_3d = make_3d(tmp_path / "data_3d_h36m.npz")
    cpn = make_videopose3d(tmp_path / "downloads_cpn.npz")
    detectron = make_videopose3d(tmp_path / "downloads_detectron.npz", channels=3)  # with confidence
    hr_train, hr_test = make_hr(tmp_path)
    cwd = tmp_path / "data"
    cwd.mkdir()
    res = run_script(SCRIPT, "--data-3d", str(data_3d), "--cpn", str(cpn), "--detectron",
                     str(detectron), "--hr-train", str(hr_train), "--hr-test", str(hr_test), cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert "ignored 1 sequence(s)" in res.stdout and "S1/Extra 1" in res.stdout

    for name in ("cpn_ft_h36m_dbb", "detectron_ft_h36m", "hr"):
        p2, meta, files = load(cwd / f"data_2d_h36m_{name}.npz")
        assert files == ["metadata", "positions_2d"]
        assert meta == {"num_joints": 16,
                        "keypoints_symmetry": [[4, 5, 6, 10, 11, 12], [1, 2, 3, 13, 14, 15]]}
        # Only the 3D file's actions, each trimmed to the mocap length, 16 joints, x/y only.
        assert {s: sorted(a) for s, a in p2.items()} == {s: sorted(a) for s, a in MOCAP_LENGTHS.items()}
        for s, acts in MOCAP_LENGTHS.items():
            for a, n in acts.items():
                views = p2[s][a]
                assert len(views) == 4
                for cam, v in enumerate(views):
                    assert v.shape == (n, 16, 2) and v.dtype == np.float32
                    if name == "hr":
                        want = coded(n, 32, 2, cam, 1)[:, list(skeleton.H36M32_TO_16)]
                    else:
                        want = coded(n, 17, 2, cam, 0)[:, KEEP_17]
                    np.testing.assert_array_equal(v, want)
        fmt.load_positions_2d(cwd / f"data_2d_h36m_{name}.npz")    # the loader accepts the result


def test_bad_inputs_give_one_clear_error(tmp_path, cli_error):
    data_3d = make_3d(tmp_path / "data_3d_h36m.npz")
    base = ["--data-3d", str(data_3d), "--output-dir", str(tmp_path / "out")]

    short = make_videopose3d(tmp_path / "short.npz", lengths={"S1": {"Walking 1": 2, "Eating 2": 3},
                                                              "S9": {"Posing": 5, "Photo 1": 2}})
    err = cli_error(det.main, [*base, "--cpn", str(short)])
    assert str(short) in err and "S1/Walking 1 camera 0 has 2 frames; expected at least 4" in err

    no_action = make_videopose3d(tmp_path / "no_action.npz", lengths={"S1": {"Walking 1": 4, "Eating 2": 3},
                                                                      "S9": {"Posing": 5}})
    err = cli_error(det.main, [*base, "--detectron", str(no_action)])
    assert str(no_action) in err and "S9/Photo 1" in err and "missing" in err

    no_subject = make_videopose3d(tmp_path / "no_subject.npz",
                                  lengths={"S1": {"Walking 1": 4, "Eating 2": 3}})
    assert "subject S9 missing" in cli_error(det.main, [*base, "--cpn", str(no_subject)])

    sixteen = make_videopose3d(tmp_path / "sixteen.npz", joints=16)
    err = cli_error(det.main, [*base, "--cpn", str(sixteen)])
    assert str(sixteen) in err and "expected (N, 17, 2)" in err and "already converted" in err

    nan = tmp_path / "nan.npz"
    views = [np.zeros((4, 17, 2)) for _ in range(4)]
    views[1][2, 3, 0] = np.nan
    np.savez(nan, positions_2d=np.array({"S1": {"Walking 1": views}}, dtype=object))
    err = cli_error(det.main, [*base, "--cpn", str(nan)])
    assert str(nan) in err and "S1/Walking 1 camera 1 contains NaN" in err

    err = cli_error(det.main, [*base, "--cpn", str(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz")])
    assert "missing file" in err
    assert "dl.fbaipublicfiles.com/video-pose-3d/data_2d_h36m_cpn_ft_h36m_dbb.npz" in err

    err = cli_error(det.main, ["--data-3d", str(tmp_path / "none.npz"), "--cpn", str(short),
                          "--output-dir", str(tmp_path / "out")])
    assert "missing file" in err and "prepare_data_h36m.py" in err

    hr_dir = tmp_path / "hr"
    hr_dir.mkdir()
    hr_train, hr_test = make_hr(hr_dir, drop=(9, "Posing", "60457274"))
    err = cli_error(det.main, [*base, "--hr-train", str(hr_train), "--hr-test", str(hr_test)])
    assert "S9/Posing camera 60457274 is missing" in err and "twoDPose_HRN_test.npy" in err

    bad_key = tmp_path / "bad_key.npy"
    np.save(bad_key, {("S1", "Walking 1"): np.zeros((2, 64))}, allow_pickle=True)
    err = cli_error(det.main, [*base, "--hr-train", str(bad_key), "--hr-test", str(hr_test)])
    assert str(bad_key) in err and "'<Action>.<camera id>.h5'" in err

    assert not (tmp_path / "out").exists()


def test_in_place_conversion_needs_force(tmp_path, cli_error):
    data_3d = make_3d(tmp_path / "data_3d_h36m.npz")
    cpn = make_videopose3d(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz")
    argv = ["--data-3d", str(data_3d), "--cpn", str(cpn), "--output-dir", str(tmp_path)]
    assert "is both input and output" in cli_error(det.main, argv)
    assert det.main([*argv, "--force"]) == 0
    assert fmt.load_positions_2d(cpn)["S1"]["Walking 1"][0].shape == (4, 16, 2)


def test_command_line_needs_a_source():
    with pytest.raises(SystemExit) as exc:
        det.parse_args(["--data-3d", "x.npz"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        det.parse_args(["--data-3d", "x.npz", "--hr-train", "a.npy"])
