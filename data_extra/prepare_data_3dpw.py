"""Build the 3DPW test file ``test_set/test_3dpw.npz`` (docs/inference.md#3dpw-preparation).

Input ``--input``, one of:

- the official ``sequenceFiles/test`` folder (or ``sequenceFiles``, or one ``.pkl``): Python-2
  pickles, read with ``encoding='latin1'``, holding per person ``jointPositions`` (F, 72) = SMPL-24
  joints in world metres and ``campose_valid`` (F,), and per frame ``cam_poses`` (F, 4, 4)
  world -> camera and ``img_frame_ids``, plus ``cam_intrinsics`` K (3, 3) in pixels. Joints go to
  the camera frame (X_c = R X + t), to our 16 joints (data/keypoint_formats.py SMPL24), and are
  projected with K to the GT 2D. Images are portrait 1080x1920 when K's principal point has
  cy > cx, else landscape 1920x1080. Frames whose camera pose is not valid, or with a joint behind
  the camera, are dropped; each unbroken run of one person's valid frames is one sequence.
- a shared 16-joint npz: ``pose3d``/``pose2d`` in our joint order (PoseAug style, like
  test_3dhp.npz), or AdaptPose's ``positions_3d``/``positions_2d`` (its left leg comes first:
  re-ordered here). Metres and normalised 2D are required; cameras are unknown (zeros).

Output keys: ``pose3d`` (N, 16, 3) float32 camera frame metres (root kept), ``pose2d`` (N, 16, 2)
normalised screen coordinates, ``camera`` (N, 9) normalised intrinsics (no distortion), ``sequence``
(N,) int64, ``sequence_names`` (S,), ``frame`` (N,) image frame index, ``width``/``height`` (N,).
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from data.keypoint_formats import SMPL24  # noqa: E402
from utils.camera import normalize_screen_coordinates  # noqa: E402
from utils.cli import add_output_options, script_main  # noqa: E402
from utils.io import DataError, check_output_path, load_npz, save_npz_atomic  # noqa: E402

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)
PKL_KEYS = ("jointPositions", "cam_poses", "cam_intrinsics", "campose_valid")
# AdaptPose's 16-joint files list the left leg before the right one.
ADAPTPOSE_TO_16 = (0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15)
MAX_HUMAN_EXTENT_M = 3.0    # root-relative coordinates beyond this are not metres
MAX_NORMALISED = 2.5        # |normalised 2D| beyond this is pixels
MAKE_3DPW = "python data_extra/prepare_data_3dpw.py --input 3DPW/sequenceFiles/test"


def file_3dpw(data_extra_dir: str | os.PathLike) -> Path:
    return Path(data_extra_dir) / "test_set" / "test_3dpw.npz"


# --------------------------------------------------------------------------- the output file
def save_test_3dpw(path: str | os.PathLike, d: dict) -> Path:
    return save_npz_atomic(
        path, pose3d=np.asarray(d["pose3d"], np.float32), pose2d=np.asarray(d["pose2d"], np.float32),
        camera=np.asarray(d["camera"], np.float32), sequence=np.asarray(d["sequence"], np.int64),
        sequence_names=np.asarray(d["sequence_names"], str), frame=np.asarray(d["frame"], np.int64),
        width=np.asarray(d["width"], np.int64), height=np.asarray(d["height"], np.int64))


def load_test_3dpw(path: str | os.PathLike) -> dict:
    """The arrays of test_3dpw.npz, validated; optional keys get defaults (a PoseAug-style file
    with only ``pose3d``/``pose2d`` is one sequence with unknown cameras)."""
    z = load_npz(path, (), hint=MAKE_3DPW)
    if "positions_3d" in z:
        raise DataError(f"{path} is an AdaptPose-style file (positions_3d); convert it with: "
                        f"python data_extra/prepare_data_3dpw.py --input {path}")
    for key in ("pose3d", "pose2d"):
        if key not in z:
            raise DataError(f"{path} has no key {key!r}; found {sorted(z)} (make it with: {MAKE_3DPW})")
    p3, p2 = z["pose3d"], z["pose2d"]
    n = len(p3)
    if p3.ndim != 3 or p3.shape[1:] != (16, 3) or p2.shape != (n, 16, 2) or n == 0:
        raise DataError(f"{path}: pose3d {p3.shape} and pose2d {p2.shape}; expected (N, 16, 3) and "
                        f"(N, 16, 2) with the same N >= 1")
    out = {"pose3d": p3.astype(np.float32), "pose2d": p2.astype(np.float32),
           "camera": z.get("camera", np.zeros((n, 9))).astype(np.float32),
           "sequence": z.get("sequence", np.zeros(n)).astype(np.int64),
           "frame": z.get("frame", np.arange(n)).astype(np.int64),
           "width": z.get("width", np.zeros(n)).astype(np.int64),
           "height": z.get("height", np.zeros(n)).astype(np.int64)}
    for key, shape in (("camera", (n, 9)), ("sequence", (n,)), ("frame", (n,)), ("width", (n,)),
                       ("height", (n,))):
        if out[key].shape != shape:
            raise DataError(f"{path}: {key} has shape {out[key].shape}; expected {shape}")
    if not all(np.isfinite(out[k]).all() for k in ("pose3d", "pose2d", "camera")):
        raise DataError(f"{path}: contains NaN or inf")
    seq = out["sequence"]
    if (seq < 0).any() or (np.diff(seq) < 0).any():
        raise DataError(f"{path}: sequence ids must be >= 0 and non-decreasing (contiguous rows)")
    names = z.get("sequence_names")
    count = int(seq.max()) + 1
    out["sequence_names"] = (tuple(str(s) for s in names) if names is not None
                             else tuple(f"sequence{i}" for i in range(count)))
    if len(out["sequence_names"]) < count:
        raise DataError(f"{path}: {len(out['sequence_names'])} sequence_names for {count} sequences")
    return out


# --------------------------------------------------------------------------- official pickles
def load_pkl(path: Path) -> dict:
    """One 3DPW sequence file (a Python-2 pickle: latin1 turns its byte strings into str)."""
    try:
        with open(path, "rb") as fh:
            seq = pickle.load(fh, encoding="latin1")
    except Exception as exc:  # truncated, not a pickle, ...
        raise DataError(f"{path}: cannot read as a 3DPW sequence pickle: {exc}") from None
    missing = [k for k in PKL_KEYS if k not in seq] if isinstance(seq, dict) else list(PKL_KEYS)
    if missing:
        found = type(seq).__name__ if not isinstance(seq, dict) else "a dict without them"
        raise DataError(f"{path}: no key(s) {missing} (found {found}); expected a 3DPW "
                        f"sequenceFiles pickle")
    return seq


def image_size(K: np.ndarray) -> tuple[int, int]:
    """(width, height): portrait 1080x1920 when the principal point has cy > cx, else landscape."""
    return PORTRAIT if K[1, 2] > K[0, 2] else LANDSCAPE


def normalised_intrinsics(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """The 9-value camera vector [fx, fy, cx, cy, k1, k2, k3, p1, p2] of K (no distortion)."""
    f = np.array([K[0, 0], K[1, 1]]) / width * 2
    c = np.array([K[0, 2], K[1, 2]]) / width * 2 - np.array([1, height / width])
    return np.concatenate([f, c, np.zeros(5)])


def _runs(keep: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the unbroken runs of True in ``keep``."""
    idx = np.flatnonzero(keep)
    return [r for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(r)]


def convert_sequence(seq: dict, path: Path) -> list[dict]:
    """One recording -> a list of tracks {name, pose3d, pose_px, frame, K, width, height}."""
    name = str(seq.get("sequence", path.stem))
    K = np.asarray(seq["cam_intrinsics"], np.float64)
    cams = np.asarray(seq["cam_poses"], np.float64)
    if K.shape != (3, 3) or abs(K[0, 1]) > 1e-9:
        raise DataError(f"{path}: cam_intrinsics should be a 3x3 K without skew, got {K.tolist()}")
    if cams.ndim != 3 or cams.shape[1:] != (4, 4):
        raise DataError(f"{path}: cam_poses has shape {cams.shape}; expected (F, 4, 4)")
    frame_ids = np.asarray(seq.get("img_frame_ids", np.arange(len(cams))), np.int64).reshape(-1)
    if frame_ids.shape != (len(cams),):
        raise DataError(f"{path}: {len(frame_ids)} img_frame_ids for {len(cams)} cam_poses")
    width, height = image_size(K)
    tracks = []
    for p, (joints, valid) in enumerate(zip(seq["jointPositions"], seq["campose_valid"])):
        joints = np.asarray(joints, np.float64)
        if joints.shape != (len(cams), 72):
            raise DataError(f"{path}: jointPositions[{p}] has shape {joints.shape}; expected "
                            f"({len(cams)}, 72) = SMPL-24 x 3 per frame")
        world = SMPL24.apply(joints.reshape(-1, 24, 3))
        cam = np.einsum("fij,fkj->fki", cams[:, :3, :3], world) + cams[:, None, :3, 3]
        px = np.einsum("ij,fkj->fki", K, cam)
        keep = np.asarray(valid, bool).reshape(-1) & (cam[..., 2] > 0).all(axis=1)
        for k, rows in enumerate(_runs(keep)):
            tracks.append({"name": f"{name}/person{p}" + (f"/part{k}" if k else ""),
                           "pose3d": cam[rows], "pose_px": px[rows, :, :2] / px[rows, :, 2:],
                           "frame": frame_ids[rows], "K": K, "width": width, "height": height})
    return tracks


def convert_pickles(files: list[Path]) -> dict:
    """Official sequence files -> the arrays of test_3dpw.npz."""
    tracks = [t for f in tqdm(files, desc="3DPW sequences", disable=len(files) < 2)
              for t in convert_sequence(load_pkl(f), f)]
    if not tracks:
        raise DataError(f"{files[0].parent}: no valid frame in any sequence (campose_valid)")
    cols: dict = {k: [] for k in ("pose3d", "pose2d", "camera", "sequence", "frame", "width", "height")}
    for i, t in enumerate(tracks):
        n, w, h = len(t["frame"]), t["width"], t["height"]
        uv = torch.from_numpy(t["pose_px"])
        cols["pose3d"].append(t["pose3d"])
        cols["pose2d"].append(normalize_screen_coordinates(uv, float(w), float(h)).numpy())
        cols["camera"].append(np.broadcast_to(normalised_intrinsics(t["K"], w, h), (n, 9)))
        cols["sequence"].append(np.full(n, i))
        cols["frame"].append(t["frame"])
        cols["width"].append(np.full(n, w))
        cols["height"].append(np.full(n, h))
    out = {k: np.concatenate(v) for k, v in cols.items()}
    out["sequence_names"] = [t["name"] for t in tracks]
    return out


# --------------------------------------------------------------------------- shared npz
def convert_shared_npz(path: Path) -> dict:
    """A 16-joint npz (ours / PoseAug style, or AdaptPose's) -> the arrays of test_3dpw.npz."""
    z = load_npz(path)
    if "positions_3d" in z and "positions_2d" in z:
        p3 = np.asarray(z["positions_3d"], np.float64)[:, list(ADAPTPOSE_TO_16)]
        p2 = np.asarray(z["positions_2d"], np.float64)[:, list(ADAPTPOSE_TO_16)]
    elif "pose3d" in z and "pose2d" in z:
        p3, p2 = np.asarray(z["pose3d"], np.float64), np.asarray(z["pose2d"], np.float64)
    else:
        raise DataError(f"{path}: expected keys pose3d/pose2d or positions_3d/positions_2d; "
                        f"found {sorted(z)}")
    if p3.ndim != 3 or p3.shape[1:] != (16, 3) or p2.shape != p3.shape[:2] + (2,):
        raise DataError(f"{path}: 3D {p3.shape} and 2D {p2.shape}; expected (N, 16, 3) and (N, 16, 2)")
    if not (np.isfinite(p3).all() and np.isfinite(p2).all()):
        raise DataError(f"{path}: contains NaN or inf")
    if np.abs(p3 - p3[:, :1]).max() > MAX_HUMAN_EXTENT_M:
        raise DataError(f"{path}: 3D joints lie up to {np.abs(p3 - p3[:, :1]).max():.1f} from the "
                        f"root; expected metres")
    if np.abs(p2).max() > MAX_NORMALISED:
        raise DataError(f"{path}: 2D values up to {np.abs(p2).max():.1f}; expected normalised "
                        f"screen coordinates (u / w * 2 - 1), not pixels")
    n = len(p3)
    seq = np.asarray(z.get("sequence", z.get("seq_id", np.zeros(n))), np.int64).reshape(-1)
    if seq.shape != (n,):
        raise DataError(f"{path}: sequence ids have shape {seq.shape}; expected ({n},)")
    seq = np.unique(seq, return_inverse=True)[1].reshape(-1)
    return {"pose3d": p3, "pose2d": p2, "camera": np.zeros((n, 9)), "sequence": seq,
            "sequence_names": [f"{path.stem}/sequence{i}" for i in range(int(seq.max()) + 1)],
            "frame": np.arange(n), "width": np.zeros(n), "height": np.zeros(n)}


def find_pickles(path: Path) -> list[Path]:
    """The test pickles of ``path``: a .pkl, a folder of them, or sequenceFiles/ (uses test/)."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.pkl"))
    if not files and (path / "test").is_dir():
        print(f"note: using {path / 'test'} (the 3DPW test split)", file=sys.stderr)
        files = sorted((path / "test").glob("*.pkl"))
    if not files:
        raise DataError(f"--input {path}: no 3DPW .pkl sequence files in this folder")
    return files


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Prepare test_set/test_3dpw.npz from the official 3DPW "
                                            "sequence files or a shared 16-joint 3DPW npz.")
    p.add_argument("--input", type=Path, required=True,
                   help="3DPW sequenceFiles/test folder, one .pkl, or a 16-joint .npz")
    add_output_options(p, Path(__file__).resolve().parent, "the data_extra folder")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    out = check_output_path(file_3dpw(args.output_dir), args.force)
    if not args.input.exists():
        raise DataError(f"--input {args.input}: no such file or folder")
    if args.input.suffix.lower() == ".npz":
        data = convert_shared_npz(args.input)
    else:
        data = convert_pickles(find_pickles(args.input))
    save_test_3dpw(out, data)
    print(f"wrote {out}: {len(data['pose3d'])} frames in {len(data['sequence_names'])} sequences "
          f"(pose3d camera-frame metres, pose2d normalised, camera, sequence)")


main = script_main(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
