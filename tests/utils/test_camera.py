import json
import math

import numpy as np
import pytest
import torch

from utils import camera


def _hand_projection(X, cam9):
    """The H36M distortion formula in plain Python floats."""
    fx, fy, cx, cy, k1, k2, k3, p1, p2 = [float(v) for v in cam9]
    x = max(-1.0, min(1.0, X[0] / X[2]))
    y = max(-1.0, min(1.0, X[1] / X[2]))
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tan = p1 * x + p2 * y
    return fx * (x * (radial + tan) + p1 * r2) + cx, fy * (y * (radial + tan) + p2 * r2) + cy


def _hand_qrot(q, v):
    w, x, y, z = q
    # Rotation matrix of a unit quaternion, written out.
    R = [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
         [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
         [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]]
    return [sum(R[i][j] * v[j] for j in range(3)) for i in range(3)]


def test_s9_camera_projection_matches_hand_formula_in_pixels():
    with open(camera.H36M_CAMERA_FILE) as fh:
        raw = json.load(fh)
    intr = raw["intrinsics"][0]
    ext = raw["extrinsics"]["S9"][0]
    assert intr["id"] == ext["camera_id"] == "54138969"
    world = [0.3, -0.2, 1.1]  # metres
    q = ext["orientation"]
    t = [c / 1000 for c in ext["translation"]]
    Xc = _hand_qrot([q[0], -q[1], -q[2], -q[3]], [world[i] - t[i] for i in range(3)])
    # Pixel intrinsics straight from the calibration file.
    cam_px = [*intr["focal_length"], *intr["center"], *intr["radial_distortion"],
              *intr["tangential_distortion"]]
    u, v = _hand_projection(Xc, cam_px)

    cam16 = torch.from_numpy(camera.h36m_camera_vector16("S9", 0)).double()
    xy = camera.world_to_screen(torch.tensor([[world]], dtype=torch.float64), cam16)
    px = camera.image_coordinates(xy, intr["res_w"], intr["res_h"])[0, 0]
    # The normalised 9-vector is float32 (as the original), so allow its rounding: < 1e-3 px.
    assert abs(px[0].item() - u) < 1e-3 and abs(px[1].item() - v) < 1e-3

    cam_px_t = torch.tensor(cam_px, dtype=torch.float64)
    direct = camera.project_to_2d(torch.tensor([[Xc]], dtype=torch.float64), cam_px_t)[0, 0]
    assert abs(direct[0].item() - u) < 1e-4 and abs(direct[1].item() - v) < 1e-4


def test_camera_vector9_matches_published_value():
    cam = camera.h36m_camera_vector9(0)
    expected = [2.2901, 2.2876, 0.0251, 0.0289, -0.2071, 0.2478, -0.0031, -0.00098, -0.00142]
    np.testing.assert_allclose(cam, expected, atol=6e-5)
    assert cam.dtype == np.float32


def test_world_camera_round_trip_any_leading_shape():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(2, 3, 16, 3, generator=g, dtype=torch.float64)
    q = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True)
    t = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
    Xc = camera.world_to_camera(X, q, t)
    assert Xc.shape == X.shape
    torch.testing.assert_close(camera.camera_to_world(Xc, q, t), X)
    # Rotation keeps distances between joints.
    torch.testing.assert_close((Xc[..., 0, :] - Xc[..., 1, :]).norm(dim=-1),
                               (X[..., 0, :] - X[..., 1, :]).norm(dim=-1))


def test_qrot_quarter_turn_about_z():
    q = torch.tensor([math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)], dtype=torch.float64)
    v = torch.tensor([1.0, 0, 0], dtype=torch.float64)
    torch.testing.assert_close(camera.qrot(q, v), torch.tensor([0.0, 1, 0], dtype=torch.float64))


def test_normalisation_round_trip_and_values():
    uv = torch.tensor([[0.0, 0.0], [1000.0, 1002.0], [500.0, 501.0]])
    xy = camera.normalize_screen_coordinates(uv, 1000, 1002)
    torch.testing.assert_close(xy, torch.tensor([[-1.0, -1.002], [1.0, 1.002], [0.0, 0.0]]))
    torch.testing.assert_close(camera.image_coordinates(xy, 1000, 1002), uv)
    # Per-sample sizes broadcast over joints and the input is not modified.
    uv2 = torch.rand(4, 16, 2) * 1000
    before = uv2.clone()
    w = torch.tensor([1000.0, 1000, 2048, 1920])
    h = torch.tensor([1002.0, 1000, 2048, 1080])
    back = camera.image_coordinates(camera.normalize_screen_coordinates(uv2, w, h), w, h)
    torch.testing.assert_close(back, uv2, atol=1e-3, rtol=0)
    assert torch.equal(uv2, before)


def test_projection_clamps_ratios_and_accepts_16_vectors():
    cam16 = torch.from_numpy(camera.h36m_camera_vector16("S1", 2))
    X = torch.tensor([[5.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    far = camera.project_to_2d(X, cam16)
    clamped = camera.project_to_2d(torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]]), cam16)
    torch.testing.assert_close(far, clamped)
    # The optical axis lands on the principal point.
    torch.testing.assert_close(far[1], cam16[2:4])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projection_keeps_dtype_and_is_differentiable(dtype):
    X = (torch.rand(3, 16, 3, dtype=dtype) + torch.tensor([0, 0, 3.0], dtype=dtype)).requires_grad_()
    cam = torch.from_numpy(camera.h36m_camera_vector9(1)).expand(3, 9)
    out = camera.project_to_2d(X, cam)
    assert out.dtype == dtype and out.shape == (3, 16, 2)
    out.sum().backward()
    assert torch.isfinite(X.grad).all() and X.grad.abs().sum() > 0


def test_camera_table_shape_and_unknown_subject():
    table = camera.h36m_camera_table(("S1", "S9"))
    assert table.shape == (2, 4, 16)
    torch.testing.assert_close(table[..., 9:13].norm(dim=-1), torch.ones(2, 4), atol=1e-6, rtol=0)
    with pytest.raises(KeyError, match="S2"):
        camera.h36m_camera_vector16("S2", 0)
