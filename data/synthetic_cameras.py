"""Cameras of the synthetic dataset: visibility in the real H36M cameras, and the virtual
3DHP-like test cameras (3DHP test-set intrinsics and image sizes, our own placements).

3DHP-like placements differ from H36M's on purpose: other heights (0.4-2.4 m indoors),
distances (chosen to frame the subject, ~3-6 m) and elevation angles (looking up or down
at the subject), plus a small roll. Projection is distortion-free (3DHP gives none).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from utils import camera


def matrix_to_quaternion(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4), w first, w >= 0."""
    m = R
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cand = np.stack([
        np.stack([1 + tr, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                  m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                  m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                  1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                  m[..., 1, 2] + m[..., 2, 1], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1),
    ], -2)                                                            # (..., 4, 4)
    diag = np.stack([1 + tr, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                     1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                     1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1)
    best = np.argmax(diag, -1)[..., None, None]
    q = np.take_along_axis(cand, np.broadcast_to(best, cand.shape[:-2] + (1, 4)), -2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def look_at_quaternion(eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """Camera->world quaternion (4,) of a camera at ``eye`` whose optical axis (camera z)
    points at ``target``, image x to the right and y down (world z up), rolled about the axis."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    r = np.deg2rad(roll_deg)
    x, y = np.cos(r) * x + np.sin(r) * y, -np.sin(r) * x + np.cos(r) * y
    return matrix_to_quaternion(np.stack([x, y, z], axis=1))


@dataclass(frozen=True)
class DhpCamera:
    """A 3DHP-like test camera: normalised intrinsics [fx, fy, cx, cy] (screen units of the
    width, docs/cameras.md#normalisation), image size in pixels, and the extrinsics
    (q camera->world, centre t)."""
    intrinsics: np.ndarray
    width: int
    height: int
    q: np.ndarray
    t: np.ndarray

    def camera_vector9(self) -> np.ndarray:
        return np.concatenate([self.intrinsics, np.zeros(5)])


def to_camera(world: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World points (..., J, 3) -> camera frame with q (4,), t (3,) (numpy in, numpy out)."""
    X = torch.from_numpy(np.asarray(world, np.float64))
    return camera.world_to_camera(X, torch.from_numpy(np.asarray(q, np.float64)),
                                  torch.from_numpy(np.asarray(t, np.float64))).numpy()


def project_dhp(world: np.ndarray, cam: DhpCamera) -> tuple[np.ndarray, np.ndarray]:
    """World joints (N, 16, 3) -> (camera-frame joints (N, 16, 3), normalised 2D (N, 16, 2)).

    The 2D is in 3DHP's normalisation x' = u/w*2-1, y' = v/w*2-h/w, which is what projecting
    with the normalised intrinsics yields directly.
    """
    X = to_camera(world, cam.q, cam.t)
    xy = camera.project_to_2d(torch.from_numpy(X), torch.from_numpy(cam.camera_vector9()))
    return X, xy.numpy()


def inside_fraction(xy: np.ndarray, width: int, height: int, margin: float) -> np.ndarray:
    """Boolean (...) per point: normalised 2D inside the image, ``margin`` (fraction of the
    width) away from every border."""
    x, y = xy[..., 0], xy[..., 1]
    hw = height / width
    return (np.abs(x) <= 1 - 2 * margin) & (np.abs(y) <= hw - 2 * margin)


def dhp_camera(sequence: dict, world: np.ndarray, rng: np.random.Generator,
               outdoor: bool) -> DhpCamera:
    """Place a 3DHP-like camera for one test sequence so every joint of ``world`` (N, 16, 3)
    is in front of it and inside the image (5 % margin); ``sequence`` is the entry of
    utils.camera.mpi_inf_3dhp_test_cameras()."""
    w, h = int(sequence["res_w"]), int(sequence["res_h"])
    intr = np.asarray(sequence["normalized_intrinsic_4"], np.float64)
    center = world.reshape(-1, 3).mean(0)
    azimuth = rng.uniform(0, 2 * np.pi)
    height = rng.uniform(0.9, 1.8) if outdoor else rng.uniform(0.4, 2.4)
    target = np.array([center[0], center[1], rng.uniform(0.6, 1.1)])
    roll = rng.uniform(-4, 4)
    horizontal = rng.uniform(3.0, 4.5)
    for _ in range(60):
        eye = target + np.array([horizontal * np.cos(azimuth), horizontal * np.sin(azimuth), 0.0])
        eye[2] = height
        cam = DhpCamera(intr, w, h, look_at_quaternion(eye, target, roll), eye)
        X, xy = project_dhp(world, cam)
        if (X[..., 2] > 0.5).all() and inside_fraction(xy, w, h, 0.05).all():
            return cam
        horizontal *= 1.08
    raise RuntimeError("could not frame the 3DHP-like subject in the image")


def h36m_view_check(world16: np.ndarray, subject: str) -> tuple[float, bool]:
    """(smallest camera depth in m, all joints inside the image) over the 4 real H36M cameras
    of ``subject`` for world joints (N, 16, 3)."""
    cams = camera.h36m_camera_table((subject,))[0].double()                # (4, 16)
    X = torch.from_numpy(np.asarray(world16, np.float64)).unsqueeze(0)     # (1, N, 16, 3)
    Xc = camera.world_to_camera(X, cams[:, None, 9:13], cams[:, None, 13:16])
    xy = camera.project_to_2d(Xc, cams[:, None])
    ok = True
    for slot in range(4):
        w, h = camera.h36m_resolution(slot)
        ok &= bool(inside_fraction(xy[slot].numpy(), w, h, 0.0).all())
    return float(Xc[..., 2].min()), ok
