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


# --------------------------------------------------------------------------- templates and units
def _data(folder, scale: float = 1.0, seed: int = 0):
    """A 3D file (poses scaled by ``scale``) in ``folder``; returns (path, positions)."""
    pos3d = {s: {a: p * scale for a, p in acts.items()}
             for s, acts in make_positions_3d(frames=4, seed=seed).items()}
    path = fmt.file_3d(folder)
    fmt.save_positions_3d(path, pos3d)
    return path, pos3d


def test_template_cache_is_built_with_its_source_and_reused_silently(tmp_path):
    file3d, pos3d = _data(tmp_path / "a")
    extra, logs = tmp_path / "extra", []
    first = dp.load_templates(extra, pos3d, file3d, logs.append)
    path = fmt.file_templates(extra)
    assert logs == [f"note: {path} was missing; built it from {file3d}"]
    assert fmt.read_template_record(path)["kind"] == "cache"
    assert torch.equal(first, torch.from_numpy(fmt.compute_bone_templates(pos3d)))
    stamp = path.stat().st_mtime_ns
    again = dp.load_templates(extra, pos3d, file3d, logs.append)
    assert len(logs) == 1 and torch.equal(first, again) and path.stat().st_mtime_ns == stamp


def test_a_template_cache_made_from_another_data_file_is_rebuilt(tmp_path):
    # The defect: templates cached for one --data_dir were reused for another.
    file_a, pos_a = _data(tmp_path / "a")
    file_b, pos_b = _data(tmp_path / "b", scale=1.3)                 # the same people, taller
    extra, logs = tmp_path / "extra", []
    t_a = dp.load_templates(extra, pos_a, file_a, logs.append)
    t_b = dp.load_templates(extra, pos_b, file_b, logs.append)
    path = fmt.file_templates(extra)
    assert logs[1] == (f"note: {path} was out of date (it was made from {file_a.resolve()}, whose "
                       f"content differs from {file_b.resolve()}); built it from {file_b}")
    assert torch.equal(t_b, torch.from_numpy(fmt.compute_bone_templates(pos_b)))
    torch.testing.assert_close(t_b / t_a, torch.full((5, 15), 1.3), rtol=1e-5, atol=0)
    assert fmt.read_template_record(path)["source"]["path"] == str(file_b.resolve())


def test_a_users_template_file_is_kept_with_one_note(tmp_path):
    file3d, pos3d = _data(tmp_path / "a")
    extra = tmp_path / "extra"
    path = fmt.file_templates(extra)
    given = np.full((5, 15), 0.2, np.float32)
    fmt.save_bone_templates(path, given)                              # the original's file: no record
    before = path.read_bytes()
    logs: list[str] = []
    t = dp.load_templates(extra, pos3d, file3d, logs.append)
    assert torch.equal(t, torch.from_numpy(given)) and path.read_bytes() == before
    assert logs == [f"note: using {path} as given (no record of the 3D data it was made from; "
                    f"delete it to rebuild it from {file3d})"]
    assert not fmt.template_record_path(path).exists()                # nothing added beside it


def test_a_prepared_template_file_from_other_data_is_kept_with_a_warning(tmp_path):
    file_a, pos_a = _data(tmp_path / "a")
    file_b, pos_b = _data(tmp_path / "b", scale=1.3, seed=1)
    extra = tmp_path / "extra"
    path = fmt.file_templates(extra)
    fmt.save_bone_templates(path, fmt.compute_bone_templates(pos_a), made_from=file_a)
    before = path.read_bytes()
    logs: list[str] = []
    dp.load_templates(extra, pos_b, file_b, logs.append)
    assert path.read_bytes() == before
    (line,) = logs
    assert line.startswith(f"warning: using {path} as given although it was made from "
                           f"{file_a.resolve()}")
    logs.clear()
    dp.load_templates(extra, pos_a, file_a, logs.append)              # its own source: silent
    assert logs == []


def test_a_corrupt_template_file_is_one_line(tmp_path):
    file3d, pos3d = _data(tmp_path / "a")
    path = fmt.file_templates(tmp_path / "extra")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x93NUMPY\x01\x00 torn")
    with pytest.raises(DataError, match=r"cannot read .*hm36s15678_bl_templates.npy as an .npy"):
        dp.load_templates(tmp_path / "extra", pos3d, file3d, lambda m: None)


def test_a_millimetre_3d_file_is_refused_before_training(tmp_path):
    file3d, pos3d = _data(tmp_path, scale=1000)
    fmt.save_positions_2d(fmt.file_2d(tmp_path, "gt"), fmt.compute_gt_2d(
        {s: {a: p / 1000 for a, p in acts.items()} for s, acts in pos3d.items()}))
    with pytest.raises(DataError) as err:
        dp.load_datasets(_args(tmp_path))
    assert str(err.value).startswith(f"{file3d}: subject S1 has a median bone length of ")
    assert "millimetres" in str(err.value)
    assert not fmt.file_templates(tmp_path / "extra").exists()         # nothing derived from it
