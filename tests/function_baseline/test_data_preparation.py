import argparse

import numpy as np
import pytest
import torch

from data import h36m_format as fmt
from function_baseline import data_preparation as dp
from tests.conftest import make_positions_3d
from utils import camera
from utils.config import parse_args
from utils.io import DataError


def _args(data_dir, *extra):
    return parse_args(["--data_dir", str(data_dir), "--data_extra_dir", str(data_dir / "extra"),
                       *extra])


def test_load_counts_units_and_projection(tiny_h36m):
    logs = []
    d = dp.load_datasets(_args(tiny_h36m), log=logs.append)
    assert len(d.train) == 5 * 4 * 4 * 6 and len(d.test_h36m) == 2 * 4 * 4 * 6
    assert d.test_3dhp is None and any("3DHP evaluation is skipped" in m for m in logs)
    assert any("was missing; built it" in m for m in logs)
    assert d.templates.shape == (5, 15) and (d.templates > 0.05).all()
    assert d.camera_table.shape == (5, 4, 16)
    # 2D is the distorted projection of the camera-frame 3D (normalised units).
    proj = camera.project_to_2d(d.train.pose3d.double(), d.train.camera.double())
    assert (proj - d.train.pose2d.double()).abs().max() < 1e-5
    # Camera-frame depth of a subject standing ~5 m away, in metres.
    assert 2 < d.test_h36m.pose3d[..., 2].mean() < 9
    assert d.train.action_names == ("Sitting", "SittingDown", "Walking")


def test_filters_downsample_subjects_and_actions(tiny_h36m):
    d = dp.load_datasets(_args(tiny_h36m, "--downsample", "2", "--s1only", "True"))
    assert len(d.train) == 1 * 4 * 4 * 3 and len(d.test_h36m) == 2 * 4 * 4 * 6
    d = dp.load_datasets(_args(tiny_h36m, "--actions", "Sitting"))
    assert len(d.train) == 5 * 1 * 4 * 6          # 'Sitting' does not match 'SittingDown'
    assert set(d.train.action.tolist()) == {d.train.action_names.index("Sitting")}
    with pytest.raises(DataError, match="Jumping"):
        dp.load_datasets(_args(tiny_h36m, "--actions", "Jumping"))


def test_missing_file_names_the_command(tmp_path):
    with pytest.raises(DataError, match="prepare_data_h36m.py"):
        dp.load_datasets(_args(tmp_path))


def _write(tmp_path, pos3d, pos2d):
    fmt.save_positions_3d(fmt.file_3d(tmp_path), pos3d)
    fmt.save_positions_2d(fmt.file_2d(tmp_path, "gt"), pos2d)


def test_bad_inputs_give_one_clear_error(tmp_path):
    pos3d = make_positions_3d(frames=4)
    pos2d = fmt.compute_gt_2d(pos3d)
    pos2d["S5"]["Walking 1"][2] = pos2d["S5"]["Walking 1"][2][:3]
    _write(tmp_path, pos3d, pos2d)
    with pytest.raises(DataError, match=r"S5/Walking 1 camera 2 has 3 frames"):
        dp.load_datasets(_args(tmp_path))

    pos2d = fmt.compute_gt_2d(pos3d)
    del pos3d["S9"]
    _write(tmp_path, pos3d, pos2d)
    with pytest.raises(DataError, match="subject S9 is missing"):
        dp.load_datasets(_args(tmp_path))

    pos3d = make_positions_3d(frames=4)
    pos2d = fmt.compute_gt_2d(pos3d)
    pos2d["S1"]["Walking 2"][0] = np.concatenate([pos2d["S1"]["Walking 2"][0]] * 1)[:, :15]
    _write(tmp_path, pos3d, pos2d)
    with pytest.raises(DataError, match="15 joints; expected 16"):
        dp.load_datasets(_args(tmp_path))

    pos2d = fmt.compute_gt_2d(pos3d)
    pos2d["S1"]["Walking 2"][1][0, 3, 0] = np.nan
    _write(tmp_path, pos3d, pos2d)
    with pytest.raises(DataError, match="NaN"):
        dp.load_datasets(_args(tmp_path))


def test_3dhp_loaded_with_sequence_names(tiny_h36m, tmp_path):
    extra = tmp_path / "extra"
    n = 12
    seq = np.repeat(np.arange(1, 7), 2)
    fmt.save_3dhp(fmt.file_3dhp(extra), np.zeros((n, 16, 3)), np.zeros((n, 16, 2)), seq)
    s = dp.load_3dhp(extra)
    assert len(s) == n and s.action_names[0] == "TS1" and s.action.tolist()[:3] == [0, 0, 1]
