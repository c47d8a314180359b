"""The on-disk formats of the prepared datasets (FACTS §2), written and read in one place.

- ``data_3d_h36m.npz``: ``positions_3d`` = {subject: {action: float32 (N, 32, 3)}}, world, metres.
- ``data_2d_h36m_<keypoints>.npz``: ``positions_2d`` = {subject: {action: [4 x float32 (N, 16, 2)]}}
  pixels, and ``metadata``.
- ``hm36s15678_bl_templates.npy``: float32 (5, 15) template-order bone lengths of S1, S5, S6, S7, S8.
- ``test_3dhp.npz``: ``pose3d`` (N, 16, 3) metres root-relative, ``pose2d`` (N, 16, 2) normalised,
  optional ``seq_id`` (N,) int (1..6 for TS1..TS6).

Producers (preparation scripts, the synthetic generator) and the loader all go through here,
so the formats cannot drift apart.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from utils import camera, skeleton
from utils.io import DataError, load_npz, save_npy_atomic, save_npz_atomic, unpack_object

TEMPLATE_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
GT_2D_METADATA = {"num_joints": 16, "keypoints_symmetry": skeleton.KEYPOINTS_SYMMETRY_16}
DETECTED_17_METADATA = {"layout_name": "h36m", "num_joints": 17,
                        "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}

MAKE_H36M = ("python data/prepare_data_h36m.py --from-archive h36m.zip --output-dir data "
             "(or run with --dataset synthetic)")
MAKE_DETECTIONS = ("python data/prepare_data_2d_h36m_detections.py --data-3d data/data_3d_h36m.npz "
                   "--cpn <VideoPose3D 17-joint npz> --output-dir data (see README)")
MAKE_3DHP = "python data_extra/prepare_data_3dhp.py --input mpi_inf_3dhp_valid.npz"
MAKE_TEMPLATES = "python data_extra/prepare_bone_templates.py --input data/data_3d_h36m.npz"


def file_3d(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "data_3d_h36m.npz"


def file_2d(data_dir: str | os.PathLike, keypoints: str) -> Path:
    return Path(data_dir) / f"data_2d_h36m_{keypoints}.npz"


def file_3dhp(data_extra_dir: str | os.PathLike) -> Path:
    return Path(data_extra_dir) / "test_set" / "test_3dhp.npz"


def file_templates(data_extra_dir: str | os.PathLike) -> Path:
    return Path(data_extra_dir) / "bone_length_npy" / "hm36s15678_bl_templates.npy"


def action_category(action: str) -> str:
    """'Directions 1' -> 'Directions'; 'SittingDown' stays 'SittingDown'."""
    return action.split(" ")[0]


# --------------------------------------------------------------------------- 3D
def save_positions_3d(path: str | os.PathLike, positions_3d: dict) -> Path:
    clean = {s: {a: np.asarray(p, dtype=np.float32) for a, p in acts.items()}
             for s, acts in positions_3d.items()}
    return save_npz_atomic(path, positions_3d=np.array(clean, dtype=object))


def load_positions_3d(path: str | os.PathLike) -> dict:
    """{subject: {action: float32 (N, 32, 3)}} world metres, validated."""
    z = load_npz(path, ("positions_3d",), hint=MAKE_H36M)
    data = unpack_object(z["positions_3d"], path, "positions_3d")
    if not isinstance(data, dict) or not data:
        raise DataError(f"{path}: positions_3d should be a non-empty dict subject -> action -> array")
    for s, acts in data.items():
        if not isinstance(acts, dict):
            raise DataError(f"{path}: positions_3d[{s!r}] should be a dict action -> array")
        for a, p in acts.items():
            if not isinstance(p, np.ndarray) or p.ndim != 3 or p.shape[1:] != (32, 3):
                raise DataError(f"{path}: {s}/{a} has shape {p.shape}; expected (N, 32, 3)")
            if not np.isfinite(p).all():
                raise DataError(f"{path}: {s}/{a} contains NaN or inf")
    return data


def reduce_to_16(positions_32: np.ndarray) -> np.ndarray:
    """(N, 32, 3) raw H36M joints -> (N, 16, 3) in the project's joint order."""
    return positions_32[:, list(skeleton.H36M32_TO_16)]


# --------------------------------------------------------------------------- 2D
def project_sequence_gt_2d(world_16: np.ndarray, subject: str) -> list[np.ndarray]:
    """World poses (N, 16, 3) -> 4 arrays (N, 16, 2) of distorted pixels, one per camera slot."""
    cams = camera.h36m_camera_table((subject,))[0].double()           # (4, 16)
    X = torch.from_numpy(np.asarray(world_16, dtype=np.float64))     # (N, 16, 3)
    xy = camera.world_to_screen(X.unsqueeze(0), cams.unsqueeze(1))   # (4, N, 16, 2)
    res = torch.tensor([camera.h36m_resolution(s) for s in range(4)], dtype=torch.float64)
    px = camera.image_coordinates(xy, res[:, 0:1], res[:, 1:2])
    return [px[i].numpy().astype(np.float32) for i in range(4)]


def compute_gt_2d(positions_3d: dict) -> dict:
    """{subject: {action: (N, 32, 3)}} -> {subject: {action: [4 x (N, 16, 2)]}} pixels."""
    return {s: {a: project_sequence_gt_2d(reduce_to_16(p), s) for a, p in acts.items()}
            for s, acts in positions_3d.items()}


def save_positions_2d(path: str | os.PathLike, positions_2d: dict,
                      metadata: dict | None = None) -> Path:
    clean = {s: {a: [np.asarray(v, dtype=np.float32) for v in views] for a, views in acts.items()}
             for s, acts in positions_2d.items()}
    return save_npz_atomic(path, positions_2d=np.array(clean, dtype=object),
                           metadata=np.array(metadata or GT_2D_METADATA, dtype=object))


def load_positions_2d(path: str | os.PathLike, num_joints: int = 16) -> dict:
    """{subject: {action: [4 x float32 (N, J, 2)]}} pixels, validated for J = ``num_joints``.

    A confidence channel (N, J, 3) is accepted and dropped, as the loaders only use x, y.
    """
    hint = MAKE_H36M if Path(path).name.endswith("_gt.npz") else MAKE_DETECTIONS
    z = load_npz(path, ("positions_2d",), hint=hint)
    data = unpack_object(z["positions_2d"], path, "positions_2d")
    if not isinstance(data, dict):
        raise DataError(f"{path}: positions_2d should be a dict subject -> action -> 4 arrays")
    out: dict = {}
    for s, acts in data.items():
        if not isinstance(acts, dict):
            raise DataError(f"{path}: positions_2d[{s!r}] should be a dict action -> 4 arrays")
        out[s] = {}
        for a, views in acts.items():
            if not isinstance(views, (list, tuple)) or len(views) != 4:
                raise DataError(f"{path}: {s}/{a} should hold 4 camera views (a list of arrays)")
            clean = []
            for i, v in enumerate(views):
                v = np.asarray(v)
                if v.ndim != 3 or v.shape[2] not in (2, 3):
                    raise DataError(f"{path}: {s}/{a} camera {i} has shape {v.shape}; "
                                    f"expected (N, {num_joints}, 2)")
                if v.shape[1] != num_joints:
                    extra = ""
                    if v.shape[1] == 17 and num_joints == 16:
                        extra = f" (a 17-joint VideoPose3D file: convert it with {MAKE_DETECTIONS})"
                    raise DataError(f"{path}: {s}/{a} camera {i} has {v.shape[1]} joints; "
                                    f"expected {num_joints}{extra}")
                v = v[..., :2].astype(np.float32)
                if not np.isfinite(v).all():
                    raise DataError(f"{path}: {s}/{a} camera {i} contains NaN or inf")
                clean.append(v)
            out[s][a] = clean
    return out


# --------------------------------------------------------------------------- bone templates
def compute_bone_templates(positions_3d: dict) -> np.ndarray:
    """Mean template-order bone lengths (5, 15) float32 of S1, S5, S6, S7, S8 over all frames.

    Left and right columns are averaged together so the template is exactly symmetric.
    """
    rows = []
    for s in TEMPLATE_SUBJECTS:
        if s not in positions_3d:
            raise DataError(f"cannot build bone templates: subject {s} missing from the 3D data "
                            f"(need {', '.join(TEMPLATE_SUBJECTS)})")
        poses = np.concatenate([reduce_to_16(p) for p in positions_3d[s].values()])
        lengths = skeleton.bone_lengths(torch.from_numpy(poses.astype(np.float64)), "template")
        rows.append(lengths.mean(0).numpy())
    t = np.stack(rows)
    pairs = ((0, 3), (1, 4), (2, 5), (9, 12), (10, 13), (11, 14))  # R/L columns in template order
    for r, l in pairs:
        m = (t[:, r] + t[:, l]) / 2
        t[:, r] = m
        t[:, l] = m
    return t.astype(np.float32)


def save_bone_templates(path: str | os.PathLike, templates: np.ndarray) -> Path:
    return save_npy_atomic(path, np.asarray(templates, dtype=np.float32))


def load_bone_templates(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing file {path}; make it with: {MAKE_TEMPLATES}")
    t = np.load(path)
    if t.shape != (5, 15) or not np.isfinite(t).all() or (t <= 0).any():
        raise DataError(f"{path}: expected 5x15 positive finite bone lengths (metres), "
                        f"got shape {t.shape}")
    return t.astype(np.float32)


# --------------------------------------------------------------------------- 3DHP
def save_3dhp(path: str | os.PathLike, pose3d: np.ndarray, pose2d: np.ndarray,
              seq_id: np.ndarray | None = None) -> Path:
    arrays = {"pose3d": np.asarray(pose3d, np.float32), "pose2d": np.asarray(pose2d, np.float32)}
    if seq_id is not None:
        arrays["seq_id"] = np.asarray(seq_id, np.int64)
    return save_npz_atomic(path, **arrays)


def load_3dhp(path: str | os.PathLike) -> dict:
    """{'pose3d': (N,16,3), 'pose2d': (N,16,2), 'seq_id': (N,) or None}, validated."""
    z = load_npz(path, ("pose3d", "pose2d"), hint=MAKE_3DHP)
    p3, p2 = z["pose3d"], z["pose2d"]
    if p3.ndim != 3 or p3.shape[1:] != (16, 3):
        raise DataError(f"{path}: pose3d has shape {p3.shape}; expected (N, 16, 3)")
    if p2.ndim != 3 or p2.shape[1:] != (16, 2):
        raise DataError(f"{path}: pose2d has shape {p2.shape}; expected (N, 16, 2)")
    if len(p3) != len(p2):
        raise DataError(f"{path}: pose3d has {len(p3)} frames but pose2d has {len(p2)}")
    if not (np.isfinite(p3).all() and np.isfinite(p2).all()):
        raise DataError(f"{path}: contains NaN or inf")
    seq = z.get("seq_id")
    if seq is not None and seq.shape != (len(p3),):
        raise DataError(f"{path}: seq_id has shape {seq.shape}; expected ({len(p3)},)")
    return {"pose3d": p3.astype(np.float32), "pose2d": p2.astype(np.float32), "seq_id": seq}
