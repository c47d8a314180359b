"""data_extra/prepare_bone_templates.py: the 5x15 template file from a tiny data_3d_h36m.npz."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from data import h36m_format as fmt
from data_extra import prepare_bone_templates as prep
from utils import skeleton

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "data_extra" / "prepare_bone_templates.py"
SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
HEAD = 8   # template column of Thorax -> Head


def poses_with_lengths(lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(F, 15) template-order bone lengths -> (F, 32, 3) raw H36M poses with those exact lengths."""
    f = len(lengths)
    directions = rng.normal(size=(f, 15, 3))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    bones = torch.from_numpy(directions * lengths[..., None])
    root = torch.from_numpy(rng.uniform(-1, 1, size=(f, 3)))
    pose16 = skeleton.pose_from_bones(bones, root).numpy()
    pose32 = rng.normal(size=(f, 32, 3))                 # unnamed joints: noise that must be ignored
    pose32[:, list(skeleton.H36M32_TO_16)] = pose16
    return pose32


def make_3d(path: Path, subjects=SUBJECTS) -> np.ndarray:
    """Each subject has its own lengths (left != right); its Head bone varies by +-5 mm over frames.

    Returns the expected (5, 15) templates: per-subject means, left/right columns averaged.
    """
    rng = np.random.default_rng(0)
    data, expected = {}, []
    for i, s in enumerate(SUBJECTS):
        base = np.linspace(0.10, 0.45, 15) + 0.01 * i
        per_frame = np.tile(base, (6, 1))
        per_frame[:, HEAD] += 0.005 * np.array([1, 1, 1, -1, -1, -1])   # frame mean = base, action means not
        if s in subjects:
            data[s] = {"Walking 1": poses_with_lengths(per_frame[:4], rng),
                       "Eating 2": poses_with_lengths(per_frame[4:], rng)}
        want = base.copy()
        for r, l in ((0, 3), (1, 4), (2, 5), (9, 12), (10, 13), (11, 14)):   # RHip/LHip, ... RFore/LFore
            want[r] = want[l] = (base[r] + base[l]) / 2
        expected.append(want)
    data["S9"] = {"Posing": poses_with_lengths(np.full((2, 15), 0.9), rng)}    # not a template subject
    fmt.save_positions_3d(path, data)
    return np.array(expected)


def test_templates_as_a_user_computes_them(tmp_path):
    expected = make_3d(tmp_path / "data_3d_h36m.npz")
    out_dir = tmp_path / "data_extra"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    res = subprocess.run([sys.executable, str(SCRIPT), "--input", str(tmp_path / "data_3d_h36m.npz"),
                          "--output-dir", str(out_dir)], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = out_dir / "bone_length_npy" / "hm36s15678_bl_templates.npy"
    assert str(out) in res.stdout
    t = np.load(out)
    assert t.shape == (5, 15) and t.dtype == np.float32
    np.testing.assert_allclose(t, expected, atol=2e-6)          # rows S1, S5, S6, S7, S8 in order, metres
    np.testing.assert_array_equal(fmt.load_bone_templates(out), t)


def test_bad_inputs_give_one_clear_error(tmp_path, cli_error):
    out = ["--output-dir", str(tmp_path / "out")]
    err = cli_error(prep.main, ["--input", str(tmp_path / "data_3d_h36m.npz"), *out])
    assert "missing file" in err and "prepare_data_h36m.py" in err

    make_3d(tmp_path / "partial.npz", subjects=("S1", "S5", "S7", "S8"))
    err = cli_error(prep.main, ["--input", str(tmp_path / "partial.npz"), *out])
    assert str(tmp_path / "partial.npz") in err and "subject S6 missing" in err

    bad = {"S1": {"Walking 1": np.zeros((2, 17, 3))}}
    fmt.save_positions_3d(tmp_path / "shape.npz", bad)
    err = cli_error(prep.main, ["--input", str(tmp_path / "shape.npz"), *out])
    assert str(tmp_path / "shape.npz") in err and "expected (N, 32, 3)" in err
    assert not (tmp_path / "out").exists()


def test_refuses_to_overwrite_and_default_output_dir(tmp_path, capsys, cli_error):
    make_3d(tmp_path / "in.npz")
    argv = ["--input", str(tmp_path / "in.npz"), "--output-dir", str(tmp_path)]
    assert prep.main(argv) == 0
    capsys.readouterr()
    assert "already exists" in cli_error(prep.main, argv)
    assert prep.main([*argv, "--force"]) == 0
    assert prep.parse_args(["--input", "x.npz"]).output_dir == REPO / "data_extra"


def test_the_prepared_file_records_its_input(tmp_path, capsys):
    make_3d(tmp_path / "in.npz")
    argv = ["--input", str(tmp_path / "in.npz"), "--output-dir", str(tmp_path / "extra")]
    assert prep.main(argv) == 0
    out = fmt.file_templates(tmp_path / "extra")
    assert "hm36s15678_bl_templates.source.json" in capsys.readouterr().out
    record = fmt.read_template_record(out)
    assert record["kind"] == "prepared" and record["subjects"] == list(SUBJECTS)
    assert record["source"]["sha256"] == hashlib.sha256((tmp_path / "in.npz").read_bytes()).hexdigest()
    assert fmt.template_source_change(record, tmp_path / "in.npz") is None


def test_a_millimetre_input_is_refused(tmp_path, cli_error):
    make_3d(tmp_path / "in.npz")
    metres = fmt.load_positions_3d(tmp_path / "in.npz")
    fmt.save_positions_3d(tmp_path / "mm.npz", {s: {a: p * 1000 for a, p in acts.items()}
                                                for s, acts in metres.items()})
    err = cli_error(prep.main, ["--input", str(tmp_path / "mm.npz"), "--output-dir", str(tmp_path / "o")])
    assert str(tmp_path / "mm.npz") in err and "millimetres" in err
    assert not (tmp_path / "o").exists()
