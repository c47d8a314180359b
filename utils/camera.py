"""Camera geometry: H36M calibration, screen normalisation, world<->camera, distorted projection.

Conventions (docs/cameras.md#world-and-camera): quaternions are unit, w first, and rotate
camera -> world; ``t`` is the camera centre in world metres; world z is up; camera x right,
y down, z forward.
Screen normalisation divides both axes by the image width. Every function is pure and batched
over any leading shape; numbers are float32 as in the original, cast to the input dtype.

Camera vectors: 9 values ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` (normalised intrinsics) and
16 values ``9 ++ [qw, qx, qy, qz] ++ [tx, ty, tz]`` (plus extrinsics, metres).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Union

import numpy as np
import torch

_HERE = Path(__file__).resolve().parent
H36M_CAMERA_FILE = _HERE / "h36m_cameras.json"
MPI_INF_3DHP_CAMERA_FILE = _HERE / "mpi_inf_3dhp_test_cameras.json"

H36M_CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
H36M_SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")

Number = Union[float, torch.Tensor]


# --------------------------------------------------------------------------- screen coordinates
def _as_last_axis(v: Number, like: torch.Tensor) -> Number:
    """Let a per-sample width/height (...,) broadcast against points (..., J, 2)."""
    if isinstance(v, torch.Tensor):
        return v.to(like.dtype).unsqueeze(-1).unsqueeze(-1) if v.dim() > 0 else v.to(like.dtype)
    return float(v)


def normalize_screen_coordinates(uv: torch.Tensor, w: Number, h: Number) -> torch.Tensor:
    """Pixels (..., 2) -> normalised: x' = u/w*2 - 1, y' = v/w*2 - h/w (both by width)."""
    w = _as_last_axis(w, uv)
    h = _as_last_axis(h, uv)
    x = uv[..., 0:1] / w * 2 - 1
    y = uv[..., 1:2] / w * 2 - h / w
    return torch.cat([x, y], dim=-1)


def image_coordinates(xy: torch.Tensor, w: Number, h: Number) -> torch.Tensor:
    """Inverse of :func:`normalize_screen_coordinates`: normalised (..., 2) -> pixels."""
    w = _as_last_axis(w, xy)
    h = _as_last_axis(h, xy)
    u = (xy[..., 0:1] + 1) * w / 2
    v = (xy[..., 1:2] + h / w) * w / 2
    return torch.cat([u, v], dim=-1)


# --------------------------------------------------------------------------- rotations
def qconj(q: torch.Tensor) -> torch.Tensor:
    """Conjugate (= inverse for unit) of w-first quaternions (..., 4)."""
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def qrot(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4), w first; shapes broadcast."""
    u = q[..., 1:]
    w = q[..., :1]
    u, v = torch.broadcast_tensors(u, v)
    uv = torch.linalg.cross(u, v, dim=-1)
    uuv = torch.linalg.cross(u, uv, dim=-1)
    return v + 2 * (w * uv + uuv)


def world_to_camera(X: torch.Tensor, q: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """World points X (..., J, 3) -> camera frame, with q (..., 4) and t (..., 3) metres."""
    return qrot(qconj(q).unsqueeze(-2), X - t.unsqueeze(-2))


def camera_to_world(X: torch.Tensor, q: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Camera-frame points X (..., J, 3) -> world, with q (..., 4) and t (..., 3) metres."""
    return qrot(q.unsqueeze(-2), X) + t.unsqueeze(-2)


# --------------------------------------------------------------------------- camera vector
# The only place that knows the layout of the 16-value camera vector (docs/cameras.md#camera-vector).
def intrinsics(cam: torch.Tensor) -> torch.Tensor:
    """(..., 9 or 16) -> (..., 9): ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` (normalised)."""
    return cam[..., :9]


def rotation(cam16: torch.Tensor) -> torch.Tensor:
    """(..., 16) -> (..., 4): unit quaternion (w first) rotating camera -> world."""
    return cam16[..., 9:13]


def translation(cam16: torch.Tensor) -> torch.Tensor:
    """(..., 16) -> (..., 3): camera centre in world metres."""
    return cam16[..., 13:16]


def to_camera_frame(X_world: torch.Tensor, cam16: torch.Tensor) -> torch.Tensor:
    """World points (..., J, 3) -> camera frame with camera vectors (..., 16)."""
    cam16 = cam16.to(X_world.dtype)
    return world_to_camera(X_world, rotation(cam16), translation(cam16))


def to_world_frame(X_cam: torch.Tensor, cam16: torch.Tensor) -> torch.Tensor:
    """Camera-frame points (..., J, 3) -> world with camera vectors (..., 16)."""
    cam16 = cam16.to(X_cam.dtype)
    return camera_to_world(X_cam, rotation(cam16), translation(cam16))


# --------------------------------------------------------------------------- projection
def project_to_2d(X: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """Distorted H36M projection of camera-frame points.

    X (..., J, 3), cam (..., 9) or (..., 16) (only the first 9 values are read) -> (..., J, 2),
    in the units of the intrinsics (normalised screen units for the standard camera vectors).
    The ratios X/Z and Y/Z are clamped to [-1, 1] as in the original; Z <= 0 is not checked.
    """
    cam = intrinsics(cam).to(X.dtype).unsqueeze(-2)
    f, c, k, p = cam[..., 0:2], cam[..., 2:4], cam[..., 4:7], cam[..., 7:9]
    xy = torch.clamp(X[..., :2] / X[..., 2:3], -1, 1)
    r2 = (xy * xy).sum(dim=-1, keepdim=True)
    radial = 1 + k[..., 0:1] * r2 + k[..., 1:2] * r2 ** 2 + k[..., 2:3] * r2 ** 3
    tan = (p * xy).sum(dim=-1, keepdim=True)
    return f * (xy * (radial + tan) + p * r2) + c


def world_to_screen(X_world: torch.Tensor, cam16: torch.Tensor) -> torch.Tensor:
    """World points (..., J, 3) -> normalised 2D (..., J, 2) with 16-value camera vectors (..., 16)."""
    return project_to_2d(to_camera_frame(X_world, cam16), cam16)


# --------------------------------------------------------------------------- H36M calibration
@lru_cache(maxsize=1)
def _h36m_json() -> dict:
    with open(H36M_CAMERA_FILE) as fh:
        return json.load(fh)


def h36m_resolution(slot: int) -> tuple[int, int]:
    """(width, height) in pixels of H36M camera slot 0..3."""
    cam = _h36m_json()["intrinsics"][slot]
    return int(cam["res_w"]), int(cam["res_h"])


def h36m_camera_vector9(slot: int) -> np.ndarray:
    """Normalised 9-vector (float32) of camera slot 0..3, computed from pixels like the original."""
    cam = _h36m_json()["intrinsics"][slot]
    w, h = np.float32(cam["res_w"]), np.float32(cam["res_h"])
    f = np.asarray(cam["focal_length"], np.float32) / w * 2
    c = np.asarray(cam["center"], np.float32) / w * 2 - np.array([1, h / w], np.float32)
    k = np.asarray(cam["radial_distortion"], np.float32)
    p = np.asarray(cam["tangential_distortion"], np.float32)
    return np.concatenate([f, c, k, p]).astype(np.float32)


def h36m_camera_vector16(subject: str, slot: int) -> np.ndarray:
    """16-vector (float32): the slot's 9-vector, then the subject's quaternion and centre (m)."""
    ext = _h36m_json()["extrinsics"].get(subject)
    if ext is None:
        raise KeyError(f"no H36M camera extrinsics for subject {subject!r}; "
                       f"known: {', '.join(H36M_SUBJECTS)}")
    e = ext[slot]
    q = np.asarray(e["orientation"], np.float32)
    t = np.asarray(e["translation"], np.float32) / 1000
    return np.concatenate([h36m_camera_vector9(slot), q, t]).astype(np.float32)


def h36m_camera_table(subjects: tuple | list = H36M_SUBJECTS) -> torch.Tensor:
    """(len(subjects), 4, 16) float32 tensor of 16-value camera vectors."""
    return torch.from_numpy(np.stack([
        np.stack([h36m_camera_vector16(s, slot) for slot in range(4)]) for s in subjects]))


@lru_cache(maxsize=1)
def mpi_inf_3dhp_test_cameras() -> dict:
    """Per test sequence (TS1..TS6): intrinsics, image size and row range in test_3dhp.npz."""
    with open(MPI_INF_3DHP_CAMERA_FILE) as fh:
        return json.load(fh)["sequences"]
