"""data_extra/prepare_data_3dhp.py on a tiny file in SPIN's mpi_inf_3dhp_valid.npz layout."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data import h36m_format as fmt
from data_extra import prepare_data_3dhp as prep

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "data_extra" / "prepare_data_3dhp.py"
# SPIN's 24-joint slots of the 16 project joints (docs/data_formats.md#3dhp), written out
# independently.
SLOTS = [14, 2, 1, 0, 3, 4, 5, 16, 12, 18, 9, 10, 11, 8, 7, 6]
SPIN_FILLED = [14, 3, 4, 5, 2, 1, 0, 16, 12, 17, 18, 9, 10, 11, 8, 7, 6]   # the 17 slots SPIN fills
ROWS_TS = [1, 1, 4, 5, 5, 6]


def make_spin(path: Path, rows_ts: list[int] = ROWS_TS, **override) -> dict:
    rng = np.random.default_rng(0)
    n = len(rows_ts)
    imgname = np.array([f"mpi_inf_3dhp_test_set/TS{k}/imageSequence/img_{i + 1:06d}.jpg"
                        for i, k in enumerate(rows_ts)])
    part = np.zeros((n, 24, 3))
    S = np.zeros((n, 24, 4))
    part[:, SPIN_FILLED, :2] = rng.uniform(0, 1000, size=(n, 17, 2))
    part[:, SPIN_FILLED, 2] = 1
    S[:, SPIN_FILLED, :3] = rng.uniform(-0.9, 0.9, size=(n, 17, 3))
    S[:, 14, :3] = 0                                   # SPIN's S is pelvis-relative
    S[:, SPIN_FILLED, 3] = 1
    # Hand-checkable pixels: TS1 row 0 pelvis at the image centre, right wrist (slot 6) at (2048, 0);
    # TS5 row 3 pelvis at the centre of a 1920x1080 image.
    part[0, 14, :2] = [1024, 1024]
    part[0, 6, :2] = [2048, 0]
    part[3, 14, :2] = [960, 540]
    arrays = {"imgname": imgname, "center": np.zeros((n, 2)), "scale": np.ones(n), "part": part, "S": S}
    arrays.update(override)
    np.savez(path, **arrays)
    return arrays


def test_prepares_test_set_as_a_user_runs_it(tmp_path, run_script):
    spin = make_spin(tmp_path / "mpi_inf_3dhp_valid.npz")
    out_dir = tmp_path / "data_extra"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    res = run_script(SCRIPT, "--input", str(tmp_path / "mpi_inf_3dhp_valid.npz"), "--output-dir",
                     str(out_dir), cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert "6 rows; SPIN's test file has 2929" in res.stderr
    out = out_dir / "test_set" / "test_3dhp.npz"
    assert str(out) in res.stdout

    with np.load(out) as z:
        assert sorted(z.files) == ["pose2d", "pose3d", "seq_id"]
        p3, p2, seq = z["pose3d"], z["pose2d"], z["seq_id"]
    assert p3.shape == (6, 16, 3) and p2.shape == (6, 16, 2)
    assert p3.dtype == np.float32 and p2.dtype == np.float32
    assert seq.tolist() == ROWS_TS

    # Hand values: centre of the image -> (0, 0); (2048, 0) in a 2048x2048 image -> (1, -1).
    np.testing.assert_allclose(p2[0, 0], [0, 0], atol=1e-7)
    np.testing.assert_allclose(p2[0, 15], [1, -1], atol=1e-7)
    np.testing.assert_allclose(p2[3, 0], [0, 0], atol=1e-7)
    # General rule: x' = u / w * 2 - 1, y' = v / w * 2 - h / w, per-row image size.
    w = np.array([2048, 2048, 2048, 1920, 1920, 1920])[:, None]
    h = np.array([2048, 2048, 2048, 1080, 1080, 1080])[:, None]
    uv = spin["part"][:, SLOTS, :2]
    np.testing.assert_allclose(p2[..., 0], uv[..., 0] / w * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(p2[..., 1], uv[..., 1] / w * 2 - h / w, atol=1e-6)
    # 3D: reordered, metres, root-relative; the Head is SPIN's head-top slot 18.
    np.testing.assert_allclose(p3, spin["S"][:, SLOTS, :3], atol=1e-7)
    np.testing.assert_allclose(p3[:, 9], spin["S"][:, 18, :3], atol=1e-7)
    assert np.all(p3[:, 0] == 0)

    loaded = fmt.load_3dhp(out)
    assert loaded["seq_id"].tolist() == ROWS_TS


def test_invisible_joints_are_zeroed_in_2d(tmp_path):
    spin = make_spin(tmp_path / "v.npz")
    spin["part"][2, 11, 2] = 0       # L wrist of row 2 invisible in 2D ...
    spin["S"][2, 11, 3] = 0          # ... and in 3D (SPIN's masks agree)
    data = prep.convert(spin, tmp_path / "v.npz")
    np.testing.assert_array_equal(data["pose2d"][2, 12], [0, 0])
    assert np.all(data["pose2d"][1, 12] != 0)


def test_bad_inputs_give_one_clear_error(tmp_path, cli_error):
    out = ["--output-dir", str(tmp_path / "out")]
    err = cli_error(prep.main, ["--input", str(tmp_path / "mpi_inf_3dhp_valid.npz"), *out])
    assert "missing file" in err and "SPIN" in err and "mpi_inf_3dhp_valid.npz" in err

    cases = {
        "part.npz": ({"part": np.zeros((6, 17, 3))}, "part has shape (6, 17, 3); expected (N, 24, 3)"),
        "s.npz": ({"S": np.zeros((5, 24, 4))}, "imgname, part and S have 6, 6, 5 rows"),
        "nan.npz": ({"S": np.full((6, 24, 4), np.nan)}, "contains NaN"),
        "mm.npz": ({"S": np.concatenate([np.full((6, 24, 3), 250.0), np.ones((6, 24, 1))], -1),
                    "part": np.concatenate([np.zeros((6, 24, 2)), np.ones((6, 24, 1))], -1)},
                   "expected root-relative metres"),
        "ts.npz": ({"imgname": np.array([f"img_{i}.jpg" for i in range(6)])}, "/TS1/ .. /TS6/"),
        "mask.npz": ({"S": np.zeros((6, 24, 4))}, "expected identical masks"),
    }
    for name, (override, expected) in cases.items():
        make_spin(tmp_path / name, **override)
        err = cli_error(prep.main, ["--input", str(tmp_path / name), *out])
        assert str(tmp_path / name) in err and expected in err, (name, err)

    no_s = tmp_path / "no_s.npz"
    np.savez(no_s, imgname=np.array(["TS1/a.jpg"]), part=np.zeros((1, 24, 3)))
    err = cli_error(prep.main, ["--input", str(no_s), *out])
    assert str(no_s) in err and "no key(s) ['S']" in err
    assert not (tmp_path / "out").exists()


def test_refuses_to_overwrite_and_default_output_dir(tmp_path, capsys, cli_error):
    make_spin(tmp_path / "in.npz")
    argv = ["--input", str(tmp_path / "in.npz"), "--output-dir", str(tmp_path)]
    assert prep.main(argv) == 0
    capsys.readouterr()
    assert "already exists" in cli_error(prep.main, argv)
    assert prep.main([*argv, "--force"]) == 0
    assert prep.parse_args(["--input", "x.npz"]).output_dir == REPO / "data_extra"
