"""data.synthetic_cameras: quaternion conversion, look-at cameras, 3DHP-like framing."""
from __future__ import annotations

import numpy as np
import torch

from data import synthetic_cameras as sc
from data.synthetic_skeleton import rot_x, rot_y, rot_z
from utils import camera


def test_matrix_to_quaternion_round_trip():
    rng = np.random.default_rng(0)
    a = rng.uniform(-np.pi, np.pi, (500, 3))
    R = rot_z(a[:, 0]) @ rot_y(a[:, 1]) @ rot_x(a[:, 2])
    R = np.concatenate([R, np.diag([1.0, -1, -1])[None], np.diag([-1.0, 1, -1])[None]])  # 180 deg
    q = sc.matrix_to_quaternion(R)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0)
    v = rng.normal(size=(len(R), 3))
    rotated = camera.qrot(torch.from_numpy(q), torch.from_numpy(v)).numpy()
    np.testing.assert_allclose(rotated, np.einsum("nij,nj->ni", R, v), atol=1e-12)


def test_look_at_points_the_optical_axis_at_the_target():
    eye, target = np.array([3.0, -2.0, 2.2]), np.array([0.2, 0.1, 0.9])
    q = sc.look_at_quaternion(eye, target)
    cam = sc.DhpCamera(np.array([1.5, 1.5, 0.0, 0.0]), 2048, 2048, q, eye)
    X, xy = sc.project_dhp(np.stack([target, target + [0, 0, 0.5]])[None], cam)
    np.testing.assert_allclose(X[0, 0, :2], 0.0, atol=1e-12)
    np.testing.assert_allclose(X[0, 0, 2], np.linalg.norm(target - eye))
    np.testing.assert_allclose(xy[0, 0], 0.0, atol=1e-12)
    assert xy[0, 1, 1] < 0                      # a point above the target is higher in the image
    # No roll: the camera x axis is horizontal.
    x_axis = camera.qrot(torch.from_numpy(q), torch.tensor([1.0, 0, 0], dtype=torch.float64))
    assert abs(float(x_axis[2])) < 1e-12


def test_project_dhp_matches_pinhole_in_pixels():
    seq = camera.mpi_inf_3dhp_test_cameras()["TS5"]
    q = sc.look_at_quaternion(np.array([4.0, 0, 1.2]), np.array([0.0, 0, 1.0]))
    cam = sc.DhpCamera(np.asarray(seq["normalized_intrinsic_4"]), seq["res_w"], seq["res_h"], q,
                       np.array([4.0, 0, 1.2]))
    pts = np.random.default_rng(1).uniform(-0.5, 0.5, (1, 16, 3)) + [0, 0, 1.0]
    X, xy = sc.project_dhp(pts, cam)
    f, c = np.asarray(seq["focal_length"]), np.asarray(seq["center"])
    px = f * X[..., :2] / X[..., 2:] + c
    w, h = seq["res_w"], seq["res_h"]
    expected = np.stack([px[..., 0] / w * 2 - 1, px[..., 1] / w * 2 - h / w], -1)
    np.testing.assert_allclose(xy, expected, atol=1e-9)


def test_dhp_camera_frames_the_subject():
    rng = np.random.default_rng(2)
    world = rng.uniform([-1, -1, 0], [1, 1, 2.2], (50, 16, 3))
    for name, outdoor in (("TS1", False), ("TS6", True)):
        seq = camera.mpi_inf_3dhp_test_cameras()[name]
        cam = sc.dhp_camera(seq, world, rng, outdoor)
        X, xy = sc.project_dhp(world, cam)
        assert (X[..., 2] > 0.5).all()
        assert sc.inside_fraction(xy, cam.width, cam.height, 0.05).all()
        assert (cam.width, cam.height) == (seq["res_w"], seq["res_h"])


def test_h36m_view_check():
    standing = np.zeros((2, 16, 3))
    standing[..., 2] = np.linspace(0.1, 1.7, 16)
    depth, inside = sc.h36m_view_check(standing, "S1")
    assert inside and depth > 3
    far = standing + [0, 6.0, 0]                 # behind/beside some cameras
    assert not sc.h36m_view_check(far, "S1")[1]
