"""The on-disk formats of the prepared datasets (docs/data_formats.md), written and read here.

- ``data_3d_h36m.npz``: ``positions_3d`` = {subject: {action: float32 (N, 32, 3)}}, world, metres.
- ``data_2d_h36m_<keypoints>.npz``: ``positions_2d`` = {subject: {action: [4 x float32 (N, 16, 2)]}}
  pixels, and ``metadata``.
- ``hm36s15678_bl_templates.npy``: float32 (5, 15) template-order bone lengths of S1, S5, S6, S7, S8;
  next to it ``hm36s15678_bl_templates.source.json`` records the 3D file and subjects it was
  made from, when this code made it (docs/data_formats.md#bone-templates).
- ``test_3dhp.npz``: ``pose3d`` (N, 16, 3) metres root-relative, ``pose2d`` (N, 16, 2) normalised,
  optional ``seq_id`` (N,) int (1..6 for TS1..TS6).

Producers (preparation scripts, the synthetic generator) and the loader all go through here,
so the formats cannot drift apart.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from utils import camera, skeleton
from utils.io import (DataError, atomic_write, file_sha256, load_npz, save_npy_atomic,
                      save_npz_atomic, unpack_object)

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


# The values of --keypoints: the 2D sources a data_2d_h36m_<name>.npz can hold (docs/data_formats.md#detections).
KEYPOINT_SOURCES = ("gt", "cpn_ft_h36m_dbb", "detectron_ft_h36m", "hr")


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
    check_metres(data, path)
    return data


# Median bone length (m) accepted as metres. Real subjects give ~0.25; centimetres give ~25 and
# millimetres ~250, so the band only has to separate factors of 100 (docs/data_formats.md#h36m-3d).
METRES_RANGE = (0.05, 3.0)
FRAMES_PER_SEQUENCE_CHECKED = 16


def median_bone_length(sequences: list[np.ndarray]) -> float:
    """Median of the 15 bone lengths over up to 16 evenly spaced frames of each (N, 32, 3)
    sequence (cheap even for the full dataset: no sequence is copied whole)."""
    picked = [p[:: max(1, len(p) // FRAMES_PER_SEQUENCE_CHECKED)] for p in sequences]
    poses = torch.from_numpy(np.concatenate([reduce_to_16(p) for p in picked]).astype(np.float64))
    return float(skeleton.bone_lengths(poses).median())


def check_metres(positions_3d: dict, path: str | os.PathLike) -> None:
    """Each subject's median bone length must be a human length in metres; a file in
    millimetres or centimetres is refused with the unit it looks like."""
    low, high = METRES_RANGE
    for s, acts in positions_3d.items():
        sequences = [p for p in acts.values() if len(p)]
        if not sequences:
            continue
        median = median_bone_length(sequences)
        if low <= median <= high:
            continue
        unit = ("millimetres" if 30 <= median <= 3000 else "centimetres" if 3 <= median < 30
                else "no known unit")
        fix = {"millimetres": " (divide by 1000)", "centimetres": " (divide by 100)"}.get(unit, "")
        raise DataError(f"{path}: subject {s} has a median bone length of {median:.4g}, which "
                        f"looks like {unit}; positions_3d must be in metres{fix}, with bones "
                        f"of {low}-{high} m")


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


def template_record_path(path: str | os.PathLike) -> Path:
    """``.../hm36s15678_bl_templates.npy`` -> ``.../hm36s15678_bl_templates.source.json``."""
    return Path(path).with_suffix(".source.json")


def template_record(path: str | os.PathLike, made_from: str | os.PathLike, kind: str) -> dict:
    """What the template file ``path`` was made from: the 3D file (path, size, SHA-256), the
    subjects, and the SHA-256 of ``path`` itself (so a later replacement is noticed).

    ``kind``: 'cache' (built by the loader: rebuilt when its source changes) or 'prepared'
    (made on purpose by a script: never replaced, a changed source is reported).
    The content hash, not the mtime: copies and archives change mtimes without changing data,
    and two data sets can share size and mtime; hashing costs a fraction of reading the file.
    """
    if kind not in ("cache", "prepared"):
        raise ValueError(f"kind must be 'cache' or 'prepared', got {kind!r}")
    source = Path(made_from).resolve()
    return {"kind": kind, "subjects": list(TEMPLATE_SUBJECTS),
            "source": {"path": str(source), "size": source.stat().st_size,
                       "sha256": file_sha256(source)},
            "templates_sha256": file_sha256(path)}


def save_bone_templates(path: str | os.PathLike, templates: np.ndarray,
                        made_from: str | os.PathLike | None = None, kind: str = "prepared") -> Path:
    """Write the (5, 15) templates; with ``made_from`` (the 3D file) also the source record.

    The .npy goes first, the record second: a crash in between leaves a record whose
    ``templates_sha256`` no longer matches, which the loader reports instead of trusting.
    Without ``made_from`` an older record is removed: it described another write.
    """
    if made_from is None:
        template_record_path(path).unlink(missing_ok=True)
    out = save_npy_atomic(path, np.asarray(templates, dtype=np.float32))
    if made_from is not None:
        text = json.dumps(template_record(out, made_from, kind), indent=1, sort_keys=True) + "\n"
        atomic_write(template_record_path(out), lambda tmp: Path(tmp).write_text(text))
    return out


def read_template_record(path: str | os.PathLike) -> dict | None:
    """The source record next to the template file ``path``; None when there is none, it is
    unreadable, or it describes other bytes than the file now holds (a user replaced it)."""
    record_path = template_record_path(path)
    if not record_path.is_file() or not Path(path).is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
        if record["kind"] not in ("cache", "prepared") or \
                record["templates_sha256"] != file_sha256(path):
            return None
        return record
    except (ValueError, KeyError, TypeError):
        return None


def template_source_change(record: dict, file3d: str | os.PathLike) -> str | None:
    """Why ``record`` does not describe templates of ``file3d`` and the template subjects
    (one phrase), or None when it does."""
    src = record.get("source") or {}
    if list(record.get("subjects") or []) != list(TEMPLATE_SUBJECTS):
        return (f"it was made from subjects {record.get('subjects')}, "
                f"not {list(TEMPLATE_SUBJECTS)}")
    file3d = Path(file3d)
    if src.get("size") != file3d.stat().st_size or src.get("sha256") != file_sha256(file3d):
        return f"it was made from {src.get('path')}, whose content differs from {file3d.resolve()}"
    return None


def load_bone_templates(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing file {path}; make it with: {MAKE_TEMPLATES}")
    try:
        t = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:   # truncated, not an .npy, a pickle
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path} as an .npy file ({first}); delete it to rebuild it "
                        f"from the 3D data, or make it with: {MAKE_TEMPLATES}") from None
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
