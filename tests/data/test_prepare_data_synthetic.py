"""data.prepare_data_synthetic: the built files, read back through the real format loaders.

One 'small' build per module (module-scoped fixture); two more tiny builds check determinism.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data import h36m_format as fmt
from data import prepare_data_synthetic as prep
from data.synthetic_h36m_actions import H36M_ACTIONS, STATIC_FEET_ACTIONS
from data.synthetic_skeleton import subject_body
from utils.io import DataError

CAMERA_JSON = Path(__file__).resolve().parents[2] / "utils" / "h36m_cameras.json"
DHP_JSON = Path(__file__).resolve().parents[2] / "utils" / "mpi_inf_3dhp_test_cameras.json"

# docs/data_formats.md#bone-templates, typed in again (template order), rows S1 S5 S6 S7 S8.
PUBLISHED_TEMPLATES = np.array([[float(v) for v in row.split()] for row in """
0.1329 0.4429 0.4542 0.1329 0.4429 0.4542 0.2335 0.2571 0.1819 0.1510 0.2789 0.2517 0.1510 0.2789 0.2517
0.1193 0.4283 0.4424 0.1193 0.4283 0.4424 0.2243 0.2541 0.1662 0.1431 0.2646 0.2486 0.1431 0.2646 0.2486
0.1426 0.4866 0.4615 0.1426 0.4866 0.4615 0.2622 0.2600 0.1925 0.1494 0.3010 0.2579 0.1494 0.3010 0.2579
0.1359 0.4486 0.4380 0.1359 0.4486 0.4380 0.2262 0.2554 0.1687 0.1397 0.2756 0.2473 0.1397 0.2756 0.2473
0.1465 0.4521 0.4386 0.1465 0.4521 0.4386 0.2612 0.2510 0.2128 0.1693 0.2899 0.2442 0.1693 0.2899 0.2442
""".strip().splitlines()])
TEMPLATE_PAIRS = ((0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (8, 10),
                  (10, 11), (11, 12), (8, 13), (13, 14), (14, 15))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    stats = prep.build_synthetic_dataset(out, seed=0, size="small")
    return out, stats


@pytest.fixture(scope="module")
def loaded(built):
    out, _ = built
    return {
        "3d": fmt.load_positions_3d(fmt.file_3d(out)),
        "gt": fmt.load_positions_2d(fmt.file_2d(out, "gt")),
        "det": fmt.load_positions_2d(fmt.file_2d(out, prep.DETECTED_KEYPOINTS)),
        "dhp": fmt.load_3dhp(fmt.file_3dhp(out / "extra")),
        "templates": fmt.load_bone_templates(fmt.file_templates(out / "extra")),
    }


def _lengths(p16: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(p16[..., c, :] - p16[..., p, :], axis=-1)
                     for p, c in TEMPLATE_PAIRS], -1)


# --------------------------------------------------------------------------- layout
def test_files_load_with_the_real_layout(built, loaded):
    out, stats = built
    p3 = loaded["3d"]
    assert list(p3) == ["S1", "S5", "S6", "S7", "S8", "S9", "S11"]
    expected = [f"{a} {k}" for a in H36M_ACTIONS for k in (1, 2)]
    frames = prep.SIZES["small"]
    for s, acts in p3.items():
        assert list(acts) == expected
        for a, pos in acts.items():
            assert pos.shape == (frames, 32, 3) and pos.dtype == np.float32
            assert [v.shape for v in loaded["gt"][s][a]] == [(frames, 16, 2)] * 4
            assert [v.shape for v in loaded["det"][s][a]] == [(frames, 16, 2)] * 4
    assert len({fmt.action_category(a) for a in expected}) == 15
    with np.load(fmt.file_2d(out, "gt"), allow_pickle=True) as z:
        assert z["metadata"].item() == fmt.GT_2D_METADATA
    assert stats["train_samples"] == 5 * 30 * 4 * frames
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["size"] == "small" and manifest["fps"] == 50
    assert all((out / f).is_file() for f in manifest["files"])


def test_world_frame_z_up_and_duplicate_joints(loaded):
    pos = np.concatenate([p for acts in loaded["3d"].values() for p in acts.values()])
    assert pos[..., 2].min() >= 0.0                              # nothing below the floor
    head_above_hip = pos[:, 15, 2] - pos[:, 0, 2]
    assert np.median(head_above_hip) > 0.5                       # z is up
    np.testing.assert_array_equal(pos[:, 11], pos[:, 0])          # H36M duplicates
    np.testing.assert_array_equal(pos[:, 16], pos[:, 13])
    np.testing.assert_array_equal(pos[:, 24], pos[:, 13])
    np.testing.assert_array_equal(pos[:, 20], pos[:, 19])
    np.testing.assert_array_equal(pos[:, 30], pos[:, 27])


# --------------------------------------------------------------------------- bones
def test_bone_lengths_match_the_templates(loaded):
    for row, s in enumerate(fmt.TEMPLATE_SUBJECTS):
        p16 = np.concatenate([fmt.reduce_to_16(p) for p in loaded["3d"][s].values()])
        lengths = _lengths(p16.astype(np.float64))
        assert np.abs(lengths - PUBLISHED_TEMPLATES[row]).max() < 1e-3, s
    assert np.abs(loaded["templates"] - PUBLISHED_TEMPLATES).max() < 1e-3
    for s in ("S9", "S11"):                                       # constant per subject
        p16 = np.concatenate([fmt.reduce_to_16(p) for p in loaded["3d"][s].values()])
        assert np.ptp(_lengths(p16.astype(np.float64)), axis=0).max() < 1e-5


# --------------------------------------------------------------------------- 2D
def _pixels(X: np.ndarray, subject: str, slot: int) -> np.ndarray:
    """docs/cameras.md#projection written out with the pixel calibration (independent of
    utils.camera)."""
    cams = json.loads(CAMERA_JSON.read_text())
    intr, ext = cams["intrinsics"][slot], cams["extrinsics"][subject][slot]
    w, x, y, z = ext["orientation"]
    R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                  [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                  [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
    Xc = (X.astype(np.float64) - np.asarray(ext["translation"]) / 1000) @ R
    xy = np.clip(Xc[..., :2] / Xc[..., 2:], -1, 1)
    k, p = intr["radial_distortion"], intr["tangential_distortion"]
    r2 = (xy ** 2).sum(-1, keepdims=True)
    radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
    tan = p[0] * xy[..., :1] + p[1] * xy[..., 1:]
    m = xy * (radial + tan) + np.asarray(p) * r2
    return np.asarray(intr["focal_length"]) * m + np.asarray(intr["center"]), Xc[..., 2]


def test_gt_2d_is_the_projection_of_the_3d(loaded):
    worst, min_depth = 0.0, np.inf
    for s, acts in loaded["3d"].items():
        for a, pos in acts.items():
            for slot in range(4):
                px, depth = _pixels(fmt.reduce_to_16(pos), s, slot)
                worst = max(worst, np.abs(px - loaded["gt"][s][a][slot]).max())
                min_depth = min(min_depth, depth.min())
                w, h = (1000, 1002) if slot in (0, 3) else (1000, 1000)
                assert (px >= 0).all() and (px[..., 0] <= w).all() and (px[..., 1] <= h).all()
    assert worst < 1e-3
    assert min_depth > 0.5


def test_detected_2d_has_realistic_errors(loaded):
    err = np.concatenate([np.linalg.norm(d - g, axis=-1).ravel()
                          for s in loaded["gt"] for a in loaded["gt"][s]
                          for d, g in zip(loaded["det"][s][a], loaded["gt"][s][a])])
    assert 3.0 < err.mean() < 12.0
    assert 8.0 < np.percentile(err, 95) < 30.0
    assert (err > 40).mean() > 0                                   # swaps / outliers exist
    assert (err > 40).mean() < 0.02


# --------------------------------------------------------------------------- plausibility
def test_feet_on_the_floor_when_standing(loaded):
    for s, acts in loaded["3d"].items():
        body = subject_body(s)
        for a, pos in acts.items():
            p = fmt.reduce_to_16(pos).astype(np.float64)
            ankles = p[:, [3, 6], 2]
            upright = p[:, 0, 2] - body.ankle_height > 0.75 * body.leg
            assert (np.abs(ankles.min(1) - body.ankle_height)[upright] < 0.05).all(), (s, a)
            if fmt.action_category(a) in STATIC_FEET_ACTIONS:
                assert (np.abs(ankles - body.ankle_height) < 0.05).all(), (s, a)


def _polyline_distance(pts, a, b, c):
    def seg(p, u, v):
        uv = v - u
        t = np.clip(((p - u) * uv).sum(-1) / (uv * uv).sum(-1), 0, 1)[..., None]
        return np.linalg.norm(p - (u + t * uv), axis=-1)
    return np.minimum(seg(pts, a, b), seg(pts, b, c))


def test_joint_angles_anatomical_and_no_arm_through_torso(loaded):
    p = np.concatenate([fmt.reduce_to_16(x) for acts in loaded["3d"].values()
                        for x in acts.values()]).astype(np.float64)
    for sho, elb, wri in ((10, 11, 12), (13, 14, 15)):
        ua, fa = p[:, elb] - p[:, sho], p[:, wri] - p[:, elb]
        cos = (ua * fa).sum(-1) / np.linalg.norm(ua, axis=-1) / np.linalg.norm(fa, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() <= 150.5     # elbow flexion
        f = np.linspace(0.3, 2.0, 9)[:, None, None]        # upper arm (past 30 %) then forearm
        pts = np.where(f <= 1, p[:, sho] + f * ua, p[:, elb] + (f - 1) * fa)
        d = _polyline_distance(pts, p[None, :, 0], p[None, :, 7], p[None, :, 8])
        assert d.min() > 0.09
    left = p[:, 4] - p[:, 1]
    fwd = np.cross(left, p[:, 7] - p[:, 0])
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        th, sh = p[:, knee] - p[:, hip], p[:, ankle] - p[:, knee]
        cos = (th * sh).sum(-1) / np.linalg.norm(th, axis=-1) / np.linalg.norm(sh, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 150      # knee flexion
        line = p[:, ankle] - p[:, hip]
        t = (th * line).sum(-1) / (line * line).sum(-1)
        bulge = th - t[:, None] * line
        assert ((bulge * fwd).sum(-1) > -0.01).all()            # knees never bend backwards


# --------------------------------------------------------------------------- 3DHP-like
def test_3dhp_like_set(loaded):
    dhp = loaded["dhp"]
    seqs = json.loads(DHP_JSON.read_text())["sequences"]
    ids = dhp["seq_id"]
    assert list(np.unique(ids)) == [1, 2, 3, 4, 5, 6] and (np.diff(ids) >= 0).all()
    counts = np.bincount(ids)[1:]
    real = np.array([603, 540, 505, 553, 276, 452])
    np.testing.assert_allclose(counts / counts.sum(), real / real.sum(), atol=0.01)
    np.testing.assert_array_equal(dhp["pose3d"][:, 0], 0.0)      # root-relative
    for k in range(1, 7):
        s = seqs[f"TS{k}"]
        w, h = s["res_w"], s["res_h"]
        xy = dhp["pose2d"][ids == k].astype(np.float64)
        assert (np.abs(xy[..., 0]) <= 1).all() and (np.abs(xy[..., 1]) <= h / w).all()
        # The 2D is a pinhole projection with this sequence's intrinsics of (pose3d + root):
        # solve the unknown root per frame by least squares, the residual must vanish.
        fx, fy, cx, cy = s["normalized_intrinsic_4"]
        P = dhp["pose3d"][ids == k].astype(np.float64)
        rows, rhs = [], []
        for axis, f, c in ((0, fx, cx), (1, fy, cy)):
            m = xy[..., axis] - c                                   # m * (Z + z) = f * (X + x)
            coef = np.zeros(m.shape + (3,))
            coef[..., axis] = f
            coef[..., 2] = -m
            rows.append(coef)
            rhs.append(m * P[..., 2] - f * P[..., axis])
        Acoef, b = np.concatenate(rows, 1), np.concatenate(rhs, 1)
        root = np.stack([np.linalg.lstsq(Ai, bi, rcond=None)[0] for Ai, bi in zip(Acoef, b)])
        resid = np.abs(np.einsum("nij,nj->ni", Acoef, root) - b).max()
        assert resid < 1e-5 and (root[:, 2] > 1.0).all()
        lengths = _lengths(dhp["pose3d"][ids == k].astype(np.float64))
        assert np.ptp(lengths, axis=0).max() < 1e-5                # one person per sequence


# --------------------------------------------------------------------------- determinism, CLI
def _content(out: Path) -> list:
    return [fmt.load_positions_3d(fmt.file_3d(out)), fmt.load_positions_2d(fmt.file_2d(out, "gt")),
            fmt.load_positions_2d(fmt.file_2d(out, prep.DETECTED_KEYPOINTS)),
            fmt.load_3dhp(fmt.file_3dhp(out / "extra")),
            fmt.load_bone_templates(fmt.file_templates(out / "extra"))]


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def test_same_seed_same_data_other_seed_differs(built, tmp_path):
    out, stats = built
    again = prep.build_synthetic_dataset(tmp_path / "a", seed=0, size="small")
    assert again["manifest"]["content_sha256"] == stats["manifest"]["content_sha256"]
    assert _equal(_content(out), _content(tmp_path / "a"))
    for name in again["manifest"]["files"] + ["manifest.json"]:       # byte for byte
        assert (out / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name
    other = prep.build_synthetic_dataset(tmp_path / "b", seed=1, size="small")
    for key, digest in other["manifest"]["content_sha256"].items():
        if key != "templates":                    # same skeletons -> same bone templates
            assert digest != stats["manifest"]["content_sha256"][key], key
    a3 = fmt.load_positions_3d(fmt.file_3d(out))["S1"]["Walking 1"]
    b3 = fmt.load_positions_3d(fmt.file_3d(tmp_path / "b"))["S1"]["Walking 1"]
    assert np.abs(a3 - b3).max() > 0.05


def test_ensure_reuses_rebuilds_and_refuses_foreign_folders(built, tmp_path):
    out, _ = built
    logs: list[str] = []
    stamp = fmt.file_3d(out).stat().st_mtime_ns
    assert prep.ensure_synthetic_dataset(out, 0, "small", log=logs.append) == out
    assert "reusing" in logs[-1] and fmt.file_3d(out).stat().st_mtime_ns == stamp

    d = tmp_path / "e"
    prep.ensure_synthetic_dataset(d, 3, 2, log=logs.append)
    assert json.loads((d / "manifest.json").read_text())["frames_per_sequence"] == 2
    prep.ensure_synthetic_dataset(d, 4, 2, log=logs.append)
    assert "rebuilding" in logs[-2]
    assert json.loads((d / "manifest.json").read_text())["seed"] == 4

    foreign = tmp_path / "real"
    foreign.mkdir()
    fmt.file_3d(foreign).write_bytes(b"not ours")
    with pytest.raises(DataError, match="refusing"):
        prep.ensure_synthetic_dataset(foreign, 0, "small", log=logs.append)
    assert fmt.file_3d(foreign).read_bytes() == b"not ours"
    with pytest.raises(DataError, match="--size"):
        prep.ensure_synthetic_dataset(d, 0, "huge", log=logs.append)


def test_cli_refuses_other_manifest_without_force(built, capsys, cli_error):
    out, _ = built
    assert prep.main(["--output-dir", str(out), "--seed", "0", "--size", "small"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert "--force" in cli_error(prep.main, ["--output-dir", str(out), "--seed", "7", "--size", "small"])
    assert "--size" in cli_error(prep.main, ["--output-dir", str(out), "--size", "0"])
    assert json.loads((out / "manifest.json").read_text())["seed"] == 0
