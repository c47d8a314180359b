"""data/prepare_data_h36m.py on tiny inputs in the real layouts (zip of h5 files, .cdf.mat folder)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.io import savemat

from data import h36m_format as fmt
from data import prepare_data_h36m as prep
from tests.data.test_h36m_format import reference_pixels
from utils import skeleton

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "data" / "prepare_data_h36m.py"


# --------------------------------------------------------------------------- builders of real layouts
def poses_mm(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 32, 3) world poses in millimetres, standing in the capture area (z up)."""
    root = rng.uniform([-500, -500, 850], [500, 500, 950], size=(n, 1, 3))
    return root + rng.uniform([-400, -400, -900], [400, 400, 900], size=(n, 32, 3))


def h5_bytes(array: np.ndarray, name: str = "3D_positions") -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as hf:
        hf.create_dataset(name, data=array)
    return buf.getvalue()


def archive_layout(mm: np.ndarray) -> np.ndarray:
    """(N, 32, 3) -> the archive's (96, N) array laid out (joint, coord, frame)."""
    return mm.transpose(1, 2, 0).reshape(96, -1)


def make_archive(path: Path, seqs: dict, extra: dict | None = None) -> Path:
    """h36m.zip with members h36m/<S>/MyPoses/3D_positions/<Action>.h5 (dataset 3D_positions)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("h36m/", b"")
        zf.writestr("h36m/S1/MyPoses/3D_positions/", b"")
        for (subject, action), raw in seqs.items():
            zf.writestr(f"h36m/{subject}/MyPoses/3D_positions/{action}.h5", h5_bytes(raw))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def write_mat_v5(path: Path, mm: np.ndarray) -> None:
    """What MATLAB's save(..., 'data') of cdfread's output gives: a 1x1 cell holding (N, 96)."""
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = mm.reshape(len(mm), -1)
    savemat(str(path), {"data": cell})


def write_mat_v73(path: Path, mm: np.ndarray) -> None:
    """The same cell saved as MATLAB v7.3: HDF5 with a 512-byte MATLAB header, column-major data."""
    with h5py.File(path, "w", userblock_size=512) as hf:
        target = hf.create_dataset("#refs#/a", data=mm.reshape(len(mm), 96).T)
        cell = hf.create_dataset("data", shape=(1, 1), dtype=h5py.ref_dtype)
        cell[0, 0] = target.ref
    header = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 "
              b"HDF5 schema 1.00 .")
    header = header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM"
    with open(path, "r+b") as fh:
        fh.write(header)


def check_outputs(out_dir: Path, expected_mm: dict) -> None:
    """Keys, nesting, dtypes and units of both files, and 2D = projection of the 3D."""
    with np.load(out_dir / "data_3d_h36m.npz", allow_pickle=True) as z:
        assert z.files == ["positions_3d"]
        assert z["positions_3d"].dtype == object and z["positions_3d"].shape == ()
        p3 = z["positions_3d"].item()
    with np.load(out_dir / "data_2d_h36m_gt.npz", allow_pickle=True) as z:
        assert sorted(z.files) == ["metadata", "positions_2d"]
        assert z["metadata"].item() == {"num_joints": 16,
                                        "keypoints_symmetry": [[4, 5, 6, 10, 11, 12], [1, 2, 3, 13, 14, 15]]}
        p2 = z["positions_2d"].item()
    expected_keys = {s: sorted(a for (s2, a) in expected_mm if s2 == s) for (s, _) in expected_mm}
    assert {s: sorted(a) for s, a in p3.items()} == expected_keys
    assert {s: sorted(a) for s, a in p2.items()} == expected_keys
    for (s, a), mm in expected_mm.items():
        pos = p3[s][a]
        assert pos.dtype == np.float32 and pos.shape == mm.shape
        np.testing.assert_allclose(pos, mm / 1000, rtol=1e-6, atol=1e-7)     # metres
        views = p2[s][a]
        assert isinstance(views, list) and len(views) == 4
        for slot, v in enumerate(views):
            assert v.dtype == np.float32 and v.shape == (len(mm), 16, 2)
            want = reference_pixels(pos[:, list(skeleton.H36M32_TO_16)].astype(np.float64), s, slot)
            np.testing.assert_allclose(v, want, atol=2e-4, rtol=0)


# --------------------------------------------------------------------------- tests
def test_from_archive_as_a_user_runs_it(tmp_path, run_script):
    rng = np.random.default_rng(0)
    mm = {("S1", "Directions 1"): poses_mm(rng, 5), ("S1", "WalkDog 1"): poses_mm(rng, 3),
          ("S11", "Directions 1"): poses_mm(rng, 4), ("S11", "Directions"): poses_mm(rng, 2)}
    archive = make_archive(tmp_path / "h36m.zip", {k: archive_layout(v) for k, v in mm.items()},
                           extra={"h36m/cameras.h5": b"not used"})
    cwd = tmp_path / "data"
    cwd.mkdir()

    res = run_script(SCRIPT, "--from-archive", str(archive), cwd=cwd)     # default --output-dir: the cwd
    assert res.returncode == 0, res.stderr
    expected = {k: v for k, v in mm.items() if k != ("S11", "Directions")}   # corrupted video skipped
    check_outputs(cwd, expected)
    # The partial archive is reported: missing subjects and short action categories.
    warn = res.stderr
    for s in ("S5", "S6", "S7", "S8", "S9"):
        assert f"{s}: missing (0 of 30 sequences)" in warn
    assert "S1: 2 of 30 sequences; short: Directions (1 of 2)" in warn
    assert "WalkDog (1 of 2)" in warn and "Discussion (0 of 2)" in warn
    assert "S11: 2 of 30 sequences; short: Discussion (0 of 2)" in warn   # S11 Directions counted
    assert str(cwd / "data_3d_h36m.npz") in res.stdout or "data_3d_h36m.npz" in res.stdout

    # A second run refuses to overwrite: one line on stderr, exit 2, files untouched.
    stamp = (cwd / "data_3d_h36m.npz").stat().st_mtime_ns
    again = run_script(SCRIPT, "--from-archive", str(archive), cwd=cwd)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert (cwd / "data_3d_h36m.npz").stat().st_mtime_ns == stamp


def test_force_overwrites(tmp_path, capsys, cli_error):
    rng = np.random.default_rng(1)
    archive = make_archive(tmp_path / "h36m.zip", {("S9", "Posing 1"): archive_layout(poses_mm(rng, 2))})
    out = tmp_path / "out"
    assert prep.main(["--from-archive", str(archive), "--output-dir", str(out)]) == 0
    capsys.readouterr()                        # the partial-archive warning of the first run
    assert "already exists" in cli_error(prep.main, ["--from-archive", str(archive), "--output-dir",
                                                     str(out)])
    assert prep.main(["--from-archive", str(archive), "--output-dir", str(out), "--force"]) == 0
    assert fmt.load_positions_3d(out / "data_3d_h36m.npz")["S9"]["Posing 1"].shape == (2, 32, 3)
    assert not list(out.glob(".*.tmp"))        # atomic writes leave no temporary files behind


def test_from_source_as_a_user_runs_it(tmp_path, run_script):
    rng = np.random.default_rng(2)
    root = tmp_path / "h36m_source"
    files = {("S1", "TakingPhoto 1", write_mat_v5): poses_mm(rng, 4),
             ("S1", "WalkingDog", write_mat_v73): poses_mm(rng, 3),
             ("S11", "Directions", write_mat_v5): poses_mm(rng, 2),
             ("S11", "Directions 1", write_mat_v73): poses_mm(rng, 5)}
    for (subject, action, writer), mm in files.items():
        folder = root / subject / "MyPoseFeatures" / "D3_Positions"
        folder.mkdir(parents=True, exist_ok=True)
        writer(folder / f"{action}.cdf.mat", mm)
    out = tmp_path / "prepared"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    res = run_script(SCRIPT, "--from-source", str(root), "--output-dir", str(out), cwd=cwd)
    assert res.returncode == 0, res.stderr
    renamed = {"TakingPhoto 1": "Photo 1", "WalkingDog": "WalkDog"}
    expected = {(s, renamed.get(a, a)): mm for (s, a, _), mm in files.items()
                if (s, a) != ("S11", "Directions")}
    check_outputs(out, expected)
    assert not (cwd / "data_3d_h36m.npz").exists()


def test_bad_inputs_give_one_clear_error(tmp_path, cli_error):
    out = ["--output-dir", str(tmp_path / "out")]
    rng = np.random.default_rng(3)

    err = cli_error(prep.main, ["--from-archive", str(tmp_path / "nowhere.zip"), *out])
    assert "missing file" in err and "nowhere.zip" in err and "h36m.zip" in err

    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert "cannot read" in cli_error(prep.main, ["--from-archive", str(tmp_path / "junk.zip"), *out])

    empty = make_archive(tmp_path / "empty.zip", {}, extra={"h36m/readme.txt": b"hi"})
    assert "no usable sequence" in cli_error(prep.main, ["--from-archive", str(empty), *out])

    transposed = make_archive(tmp_path / "t.zip", {("S1", "Eating 1"): poses_mm(rng, 4).reshape(4, 96)})
    err = cli_error(prep.main, ["--from-archive", str(transposed), *out])
    assert "S1/MyPoses/3D_positions/Eating 1.h5" in err and "expected (96, N)" in err

    bad = archive_layout(poses_mm(rng, 4))
    bad[5, 2] = np.nan
    nan = make_archive(tmp_path / "nan.zip", {("S5", "Eating 1"): bad})
    err = cli_error(prep.main, ["--from-archive", str(nan), *out])
    assert "S5/MyPoses/3D_positions/Eating 1.h5" in err and "NaN" in err

    buf = io.BytesIO()
    with h5py.File(buf, "w") as hf:
        hf.create_dataset("positions", data=np.zeros((96, 2)))
    wrong_key = make_archive(tmp_path / "k.zip", {},
                             {"h36m/S6/MyPoses/3D_positions/Eating 1.h5": buf.getvalue()})
    assert "no dataset '3D_positions'" in cli_error(prep.main, ["--from-archive", str(wrong_key), *out])

    err = cli_error(prep.main, ["--from-source", str(tmp_path / "no_dir"), *out])
    assert "not a directory" in err and "D3_Positions" in err

    folder = tmp_path / "src" / "S7" / "MyPoseFeatures" / "D3_Positions"
    folder.mkdir(parents=True)
    write_mat_v5(folder / "Eating 1.cdf.mat", poses_mm(rng, 2)[:, :31])   # (N, 93) is not (N, 96)
    assert "expected (N, 96)" in cli_error(prep.main, ["--from-source", str(tmp_path / "src"), *out])
    assert not (tmp_path / "out").exists()     # nothing was written by any failed run


def test_missing_report_counts_categories():
    full = [f"{c} {k}" for c in prep.ACTION_CATEGORIES for k in (1, 2)]
    found = {s: list(full) for s in prep.H36M_SUBJECTS}
    assert prep.missing_report(found) == []
    found["S8"] = full[:-1]
    del found["S9"]
    assert prep.missing_report(found) == ["S8: 29 of 30 sequences; short: WalkTogether (1 of 2)",
                                          "S9: missing (0 of 30 sequences)"]


def test_canonical_action():
    assert prep.canonical_action("TakingPhoto 1") == "Photo 1"
    assert prep.canonical_action("WalkingDog") == "WalkDog"
    assert prep.canonical_action("Walking 1") == "Walking 1"


@pytest.mark.parametrize("n", [1, 7])
def test_archive_array_layout(n):
    mm = np.random.default_rng(n).normal(size=(n, 32, 3)) * 1000
    out = prep.positions_from_archive_array(archive_layout(mm), "x")
    np.testing.assert_allclose(out, mm / 1000, rtol=1e-6)
    assert out.dtype == np.float32
