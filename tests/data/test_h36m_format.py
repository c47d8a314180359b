"""data.h36m_format: projection against a hand-written formula, round trips, loader validation."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from data import h36m_format as fmt
from tests.conftest import make_positions_3d
from utils import skeleton
from utils.io import DataError

CAMERA_JSON = Path(__file__).resolve().parents[2] / "utils" / "h36m_cameras.json"


# --------------------------------------------------------------------------- an independent projector
def _rotation_matrix(q: np.ndarray) -> np.ndarray:
    """Textbook rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def reference_pixels(X_world: np.ndarray, subject: str, slot: int) -> np.ndarray:
    """docs/cameras.md#projection written out in float64 with the calibration in pixels and
    millimetres.

    X_world (..., 3) metres -> (..., 2) distorted pixels. Independent of utils.camera: no
    quaternion product, no normalised intrinsics.
    """
    cams = json.loads(CAMERA_JSON.read_text())
    intr = cams["intrinsics"][slot]
    ext = cams["extrinsics"][subject][slot]
    R = _rotation_matrix(np.asarray(ext["orientation"], np.float64))     # camera -> world
    t = np.asarray(ext["translation"], np.float64) / 1000
    Xc = (np.asarray(X_world, np.float64) - t) @ R                       # R^T (X - t), row vectors
    x = np.clip(Xc[..., 0] / Xc[..., 2], -1, 1)
    y = np.clip(Xc[..., 1] / Xc[..., 2], -1, 1)
    k1, k2, k3 = intr["radial_distortion"]
    p1, p2 = intr["tangential_distortion"]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tan = p1 * x + p2 * y
    fx, fy = intr["focal_length"]
    cx, cy = intr["center"]
    u = fx * (x * (radial + tan) + p1 * r2) + cx
    v = fy * (y * (radial + tan) + p2 * r2) + cy
    return np.stack([u, v], axis=-1)


def test_hand_made_point_with_real_s9_camera_54138969():
    # A point 1.1 m above the floor near the middle of the capture space (world z is up).
    X = np.array([0.25, -0.40, 1.10])
    expected = reference_pixels(X, "S9", 0)
    assert 0 < expected[0] < 1000 and 0 < expected[1] < 1002   # it is inside camera 54138969's image
    world_16 = np.tile(X, (1, 16, 1))                          # (N=1, 16, 3)
    views = fmt.project_sequence_gt_2d(world_16, "S9")
    assert len(views) == 4 and views[0].shape == (1, 16, 2) and views[0].dtype == np.float32
    np.testing.assert_allclose(views[0][0], np.tile(expected, (16, 1)), atol=1e-4, rtol=0)


def test_projection_of_every_camera_matches_reference():
    rng = np.random.default_rng(0)
    world = rng.uniform([-1, -1, 0], [1, 1, 1.8], size=(3, 16, 3))
    views = fmt.project_sequence_gt_2d(world, "S11")
    for slot in range(4):
        np.testing.assert_allclose(views[slot], reference_pixels(world, "S11", slot),
                                   atol=2e-4, rtol=0)


def test_compute_gt_2d_reduces_to_16_joints_per_subject_and_action():
    rng = np.random.default_rng(1)
    pos32 = rng.uniform([-1, -1, 0], [1, 1, 1.8], size=(5, 32, 3)).astype(np.float32)
    out = fmt.compute_gt_2d({"S1": {"Walking 1": pos32}})
    assert list(out) == ["S1"] and list(out["S1"]) == ["Walking 1"]
    views = out["S1"]["Walking 1"]
    assert [v.shape for v in views] == [(5, 16, 2)] * 4
    np.testing.assert_allclose(views[2], reference_pixels(pos32[:, list(skeleton.H36M32_TO_16)], "S1", 2),
                               atol=2e-4, rtol=0)


def test_reduce_to_16_picks_the_named_joints():
    pos32 = np.arange(32 * 3, dtype=np.float32).reshape(1, 32, 3)
    red = fmt.reduce_to_16(pos32)
    assert red.shape == (1, 16, 3)
    # Head (16-joint 9) is H36M joint 15 (head top), RShoulder (13) is H36M joint 25.
    np.testing.assert_array_equal(red[0, 9], pos32[0, 15])
    np.testing.assert_array_equal(red[0, 13], pos32[0, 25])


def test_action_category():
    assert fmt.action_category("Directions 1") == "Directions"
    assert fmt.action_category("SittingDown") == "SittingDown"


# --------------------------------------------------------------------------- round trips
def test_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    p3 = {"S1": {"Eating 2": rng.normal(size=(4, 32, 3))}}
    fmt.save_positions_3d(tmp_path / "a.npz", p3)
    back = fmt.load_positions_3d(tmp_path / "a.npz")
    assert back["S1"]["Eating 2"].dtype == np.float32
    np.testing.assert_allclose(back["S1"]["Eating 2"], p3["S1"]["Eating 2"], rtol=1e-6)

    p2 = {"S1": {"Eating 2": [rng.normal(size=(4, 16, 2)) for _ in range(4)]}}
    fmt.save_positions_2d(tmp_path / "b.npz", p2)
    back2 = fmt.load_positions_2d(tmp_path / "b.npz")
    np.testing.assert_allclose(back2["S1"]["Eating 2"][3], p2["S1"]["Eating 2"][3], rtol=1e-6)
    with np.load(tmp_path / "b.npz", allow_pickle=True) as z:
        assert z["metadata"].item() == fmt.GT_2D_METADATA

    fmt.save_3dhp(tmp_path / "c.npz", np.zeros((3, 16, 3)), np.ones((3, 16, 2)), np.array([1, 5, 6]))
    hp = fmt.load_3dhp(tmp_path / "c.npz")
    assert hp["pose3d"].shape == (3, 16, 3) and hp["seq_id"].tolist() == [1, 5, 6]


def test_confidence_channel_is_dropped_on_load(tmp_path):
    views = [np.full((2, 16, 3), 7.0, np.float32) for _ in range(4)]
    np.savez(tmp_path / "d.npz", positions_2d=np.array({"S9": {"Posing": views}}, dtype=object))
    out = fmt.load_positions_2d(tmp_path / "d.npz")
    assert out["S9"]["Posing"][0].shape == (2, 16, 2)


# --------------------------------------------------------------------------- loader validation
def test_17_joint_file_is_rejected_naming_file_and_converter(tmp_path):
    path = tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz"
    views = [np.zeros((3, 17, 2), np.float32) for _ in range(4)]
    np.savez(path, positions_2d=np.array({"S1": {"Walking 1": views}}, dtype=object),
             metadata=np.array(fmt.DETECTED_17_METADATA, dtype=object))
    with pytest.raises(DataError) as err:
        fmt.load_positions_2d(path)
    msg = str(err.value)
    assert str(path) in msg and "17 joints" in msg and "prepare_data_2d_h36m_detections.py" in msg


def test_nan_is_rejected(tmp_path):
    p3 = np.zeros((2, 32, 3), np.float32)
    p3[1, 4, 2] = np.nan
    fmt.save_positions_3d(tmp_path / "n3.npz", {"S1": {"Walking 1": p3}})
    with pytest.raises(DataError, match="NaN"):
        fmt.load_positions_3d(tmp_path / "n3.npz")

    views = [np.zeros((2, 16, 2), np.float32) for _ in range(4)]
    views[2][0, 0, 0] = np.nan
    fmt.save_positions_2d(tmp_path / "n2.npz", {"S1": {"Walking 1": views}})
    with pytest.raises(DataError, match="S1/Walking 1 camera 2 contains NaN"):
        fmt.load_positions_2d(tmp_path / "n2.npz")

    p2 = np.zeros((2, 16, 2))
    p2[0, 0, 0] = np.nan
    fmt.save_3dhp(tmp_path / "n4.npz", np.zeros((2, 16, 3)), p2)
    with pytest.raises(DataError, match="NaN"):
        fmt.load_3dhp(tmp_path / "n4.npz")


def test_wrong_shapes_are_rejected(tmp_path):
    fmt.save_positions_3d(tmp_path / "s3.npz", {"S1": {"Walking 1": np.zeros((2, 17, 3))}})
    with pytest.raises(DataError, match=r"expected \(N, 32, 3\)"):
        fmt.load_positions_3d(tmp_path / "s3.npz")
    fmt.save_3dhp(tmp_path / "s4.npz", np.zeros((3, 16, 3)), np.zeros((2, 16, 2)))
    with pytest.raises(DataError, match="3 frames but pose2d has 2"):
        fmt.load_3dhp(tmp_path / "s4.npz")


def test_missing_files_name_the_command_that_makes_them(tmp_path):
    cases = [
        (lambda: fmt.load_positions_3d(fmt.file_3d(tmp_path)), "data/prepare_data_h36m.py"),
        (lambda: fmt.load_positions_2d(fmt.file_2d(tmp_path, "gt")), "data/prepare_data_h36m.py"),
        (lambda: fmt.load_positions_2d(fmt.file_2d(tmp_path, "hr")),
         "data/prepare_data_2d_h36m_detections.py"),
        (lambda: fmt.load_3dhp(fmt.file_3dhp(tmp_path)), "data_extra/prepare_data_3dhp.py"),
        (lambda: fmt.load_bone_templates(fmt.file_templates(tmp_path)),
         "data_extra/prepare_bone_templates.py"),
    ]
    for load, command in cases:
        with pytest.raises(DataError) as err:
            load()
        assert "missing file" in str(err.value) and command in str(err.value)
        assert (Path(__file__).resolve().parents[2] / command).is_file()  # the named command exists


def test_file_names():
    assert fmt.file_3d("d") == Path("d/data_3d_h36m.npz")
    assert fmt.file_2d("d", "cpn_ft_h36m_dbb") == Path("d/data_2d_h36m_cpn_ft_h36m_dbb.npz")
    assert fmt.file_3dhp("e") == Path("e/test_set/test_3dhp.npz")
    assert fmt.file_templates("e") == Path("e/bone_length_npy/hm36s15678_bl_templates.npy")


# --------------------------------------------------------------------------- units
def _metres_3d() -> dict:
    return make_positions_3d(frames=4)


def test_median_bone_length_of_a_hand_made_skeleton():
    # every bone 0.3 m long (all pointing up), joints built from the root
    bones = np.tile(np.array([0.0, 0.0, 0.3]), (2, 15, 1))
    pose16 = skeleton.pose_from_bones(torch.from_numpy(bones), torch.zeros(2, 3)).numpy()
    pose32 = np.zeros((2, 32, 3))
    pose32[:, list(skeleton.H36M32_TO_16)] = pose16
    assert fmt.median_bone_length([pose32]) == pytest.approx(0.3, abs=1e-12)


def test_millimetre_and_centimetre_files_are_refused_naming_file_and_unit(tmp_path):
    pos = _metres_3d()
    fmt.save_positions_3d(tmp_path / "m.npz", pos)
    assert sorted(fmt.load_positions_3d(tmp_path / "m.npz")) == sorted(pos)     # metres load
    mm = {s: {a: p * 1000 for a, p in acts.items()} for s, acts in pos.items()}
    fmt.save_positions_3d(tmp_path / "mm.npz", mm)
    with pytest.raises(DataError) as err:
        fmt.load_positions_3d(tmp_path / "mm.npz")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'mm.npz'}: subject S1 has a median bone length of ")
    assert "looks like millimetres; positions_3d must be in metres (divide by 1000)" in msg
    cm = dict(pos, S9={a: p * 100 for a, p in pos["S9"].items()})   # one subject in centimetres
    fmt.save_positions_3d(tmp_path / "cm.npz", cm)
    with pytest.raises(DataError, match="subject S9 .* looks like centimetres.*divide by 100"):
        fmt.load_positions_3d(tmp_path / "cm.npz")
    tiny = {"S1": {"Walking 1": pos["S1"]["Walking 1"] / 1000}}
    fmt.save_positions_3d(tmp_path / "km.npz", tiny)
    with pytest.raises(DataError, match="looks like no known unit"):
        fmt.load_positions_3d(tmp_path / "km.npz")


# --------------------------------------------------------------------------- template files
def test_template_record_describes_its_source_and_notices_changes(tmp_path):
    src = tmp_path / "data_3d_h36m.npz"
    fmt.save_positions_3d(src, _metres_3d())
    out = fmt.file_templates(tmp_path / "extra")
    templates = np.full((5, 15), 0.25, np.float32)
    fmt.save_bone_templates(out, templates, made_from=src, kind="cache")
    record = fmt.read_template_record(out)
    assert fmt.template_record_path(out).name == "hm36s15678_bl_templates.source.json"
    assert record == {"kind": "cache", "subjects": ["S1", "S5", "S6", "S7", "S8"],
                      "source": {"path": str(src.resolve()), "size": src.stat().st_size,
                                 "sha256": hashlib.sha256(src.read_bytes()).hexdigest()},
                      "templates_sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    assert fmt.template_source_change(record, src) is None
    copy = tmp_path / "copy.npz"                                       # same bytes elsewhere
    copy.write_bytes(src.read_bytes())
    assert fmt.template_source_change(record, copy) is None
    other = tmp_path / "other.npz"
    fmt.save_positions_3d(other, {s: {a: p * 1.1 for a, p in acts.items()}
                                  for s, acts in _metres_3d().items()})
    assert fmt.template_source_change(record, other) == \
        f"it was made from {src.resolve()}, whose content differs from {other.resolve()}"
    assert "subjects ['S1']" in fmt.template_source_change(dict(record, subjects=["S1"]), src)
    # a replaced .npy no longer matches its record; without a record there is none
    np.save(out, templates * 2)
    assert fmt.read_template_record(out) is None
    fmt.save_bone_templates(out, templates)                            # no made_from: no record
    assert fmt.read_template_record(out) is None
    fmt.template_record_path(out).write_text("{ torn")
    assert fmt.read_template_record(out) is None
    with pytest.raises(ValueError, match="kind"):
        fmt.template_record(out, src, "mine")


def test_corrupt_template_file_is_one_line(tmp_path):
    path = fmt.file_templates(tmp_path)
    path.parent.mkdir(parents=True)
    for content in (b"\x93NUMPY garbage", b"", np.array([{"a": 1}], dtype=object)):
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            np.save(path, content, allow_pickle=True)
        with pytest.raises(DataError) as err:
            fmt.load_bone_templates(path)
        msg = str(err.value)
        assert msg.startswith(f"cannot read {path} as an .npy file (") and "\n" not in msg
        assert "prepare_bone_templates.py" in msg
    np.save(path, np.ones((5, 14), np.float32))
    with pytest.raises(DataError, match=r"expected 5x15 positive finite bone lengths"):
        fmt.load_bone_templates(path)
