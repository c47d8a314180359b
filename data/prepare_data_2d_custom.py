"""Convert a detector's 2D keypoints for one person track into the 16-joint lifter input file
(docs/inference.md#custom-keypoints).

    python data/prepare_data_2d_custom.py --input results.json --output clip.npz --width 1920 --height 1080

Inputs (``--format`` guessed from the input when omitted):

- ``coco``: a COCO keypoint results JSON, a list of ``{image_id, keypoints[51], score}`` (what MMPose,
  Detectron2 and the COCO API write), or a COCO dict with ``annotations`` (and ``images``, whose
  width/height are used). Integer image ids (or the last number in string ids) are frame numbers;
  a number with no entry is a frame without a person.
- ``openpose``: a folder of OpenPose JSON files, one per frame (``<name>_<frame>_keypoints.json``),
  BODY_25 or COCO-18 ``pose_keypoints_2d``; a frame number without a file is a missing frame.
- ``videopose3d``: VideoPose3D's ``data_2d_custom_*.npz`` (``positions_2d`` {video: {'custom':
  [(F, 17, 2|3)]}}, ``metadata`` with ``layout_name`` and ``video_metadata`` {video: {'w', 'h'}}).

Per frame the person of rank ``--person`` by keypoint-box area is kept (0 = largest). Frames with
no such person or a mean keypoint score below ``--min_score`` are missing; joints scoring below
``--joint_min_score`` are missing too. Missing values are linearly interpolated in time (held at
the ends) and flagged; ``--smooth W`` applies a Savitzky-Golay filter of window W.
Output: data/keypoint_formats.py ``save_keypoints_16`` (pixels, ``valid``, ``joint_valid``,
``confidence``, ``frame``, image size, source layout).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from data import keypoint_formats as kf  # noqa: E402
from utils.cli import script_main  # noqa: E402
from utils.io import DataError, check_output_path, load_npz, unpack_object  # noqa: E402
from utils.skeleton import JOINT_NAMES  # noqa: E402

FORMATS = ("coco", "openpose", "videopose3d")
OPENPOSE_LAYOUTS = {25: kf.BODY25, 18: kf.COCO18}
VIDEOPOSE3D_LAYOUTS = {"coco": kf.COCO17, "h36m": kf.H36M17}
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass
class Detections:
    """people[f] = list of (K, 3) arrays (x, y, score) for frame ``frames[f]``; size may be 0."""
    frames: np.ndarray
    people: list
    layout: kf.JointMap
    width: int = 0
    height: int = 0


# --------------------------------------------------------------------------- readers
def _read_json(path: Path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read as JSON: {exc}") from None


def _keypoint_array(values, where: str, expected: dict) -> tuple[np.ndarray, kf.JointMap]:
    """Flat [x, y, score, ...] -> ((K, 3), layout) for a K in ``expected``."""
    try:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{where}: keypoints are not a list of numbers") from None
    k = len(flat) // 3
    if len(flat) % 3 or k not in expected:
        sizes = " or ".join(f"{3 * n} ({n} keypoints x 3)" for n in expected)
        raise DataError(f"{where}: {len(flat)} keypoint values; expected {sizes}")
    return _drop_non_finite(flat.reshape(k, 3)), expected[k]


def _drop_non_finite(kp: np.ndarray) -> np.ndarray:
    """(..., K, 3): a keypoint with a NaN/inf value becomes (0, 0) with score 0 (undetected)."""
    bad = ~np.isfinite(kp).all(axis=-1)
    return np.where(bad[..., None], 0.0, kp)


def _frame_numbers(ids: list, where: str) -> np.ndarray:
    """Frame numbers of image ids: integers as they are, else the last number in each string."""
    if all(isinstance(i, (int, np.integer)) for i in ids):
        return np.asarray(ids, np.int64)
    found = [_LAST_NUMBER.search(str(i)) for i in ids]
    if all(found):
        return np.asarray([int(m.group(1)) for m in found], np.int64)
    order = {v: n for n, v in enumerate(sorted({str(i) for i in ids}))}
    print(f"note: {where}: image ids have no frame numbers; frames follow their sorted order",
          file=sys.stderr)
    return np.asarray([order[str(i)] for i in ids], np.int64)


def _group_by_frame(numbers: np.ndarray, arrays: list, all_numbers: np.ndarray | None = None
                    ) -> tuple[np.ndarray, list]:
    """Every frame number from the first to the last, each with its list of people."""
    span = numbers if all_numbers is None or not len(all_numbers) else all_numbers
    frames = np.arange(span.min(), span.max() + 1)
    people: list = [[] for _ in frames]
    for n, a in zip(numbers, arrays):
        people[int(n - frames[0])].append(a)
    return frames, people


def read_coco(path: Path) -> Detections:
    data = _read_json(path)
    images = []
    if isinstance(data, dict) and "annotations" in data:
        images, data = data.get("images") or [], data["annotations"]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise DataError(f"{path}: expected a COCO keypoint results list of "
                        f"{{image_id, keypoints, score}} objects (or a dict with 'annotations')")
    rows = [d for d in data if "keypoints" in d and "image_id" in d]
    if not rows:
        raise DataError(f"{path}: no entry with 'image_id' and 'keypoints'")
    arrays = [_keypoint_array(d["keypoints"], f"{path}: image_id {d['image_id']}",
                              {17: kf.COCO17})[0] for d in rows]
    ids = [d["image_id"] for d in rows] + [im["id"] for im in images if "id" in im]
    numbers = _frame_numbers(ids, str(path))
    frames, people = _group_by_frame(numbers[:len(rows)], arrays, numbers[len(rows):])
    sized = [im for im in images if "width" in im and "height" in im]
    w, h = (int(sized[0]["width"]), int(sized[0]["height"])) if sized else (0, 0)
    return Detections(frames, people, kf.COCO17, w, h)


def read_openpose(folder: Path) -> Detections:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DataError(f"{folder}: no OpenPose *.json files in this folder")
    numbers, arrays, layouts = [], [], set()
    for f in files:
        m = _LAST_NUMBER.search(f.stem)
        if m is None:
            raise DataError(f"{f}: no frame number in the file name; expected "
                            f"<name>_<frame>_keypoints.json")
        data = _read_json(f)
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise DataError(f"{f}: expected an OpenPose frame object with a 'people' list")
        numbers.append(int(m.group(1)))
        arrays.append([])
        for i, person in enumerate(data["people"]):
            values = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
            if values is None:
                raise DataError(f"{f}: person {i} has no 'pose_keypoints_2d'")
            a, layout = _keypoint_array(values, f"{f}: person {i}", OPENPOSE_LAYOUTS)
            arrays[-1].append(a)
            layouts.add(layout.name)
    if len(layouts) > 1:
        raise DataError(f"{folder}: files mix OpenPose layouts {sorted(layouts)}; expected one")
    if not layouts:
        raise DataError(f"{folder}: no person in any frame")
    frames, grouped = _group_by_frame(np.asarray(numbers), arrays)
    people = [sum(g, []) for g in grouped]
    return Detections(frames, people, kf.LAYOUTS[layouts.pop()])


def read_videopose3d(path: Path, video: str) -> Detections:
    z = load_npz(path, ("positions_2d", "metadata"))
    pos = unpack_object(z["positions_2d"], path, "positions_2d")
    meta = unpack_object(z["metadata"], path, "metadata")
    if not isinstance(pos, dict) or not pos or not isinstance(meta, dict):
        raise DataError(f"{path}: positions_2d should be a dict video -> {{'custom': [array]}} "
                        f"and metadata a dict")
    if not video:
        if len(pos) != 1:
            raise DataError(f"{path} holds {len(pos)} videos; pick one with --video "
                            f"({', '.join(sorted(map(str, pos)))})")
        video = next(iter(pos))
    if video not in pos:
        raise DataError(f"--video {video!r}: not in {path} (found {', '.join(sorted(map(str, pos)))})")
    layout = VIDEOPOSE3D_LAYOUTS.get(meta.get("layout_name"))
    if layout is None:
        raise DataError(f"{path}: metadata layout_name {meta.get('layout_name')!r}; expected "
                        f"one of {', '.join(VIDEOPOSE3D_LAYOUTS)}")
    try:
        kp = np.asarray(pos[video]["custom"][0], np.float64)
    except (KeyError, IndexError, TypeError):
        raise DataError(f"{path}: positions_2d[{video!r}] should be "
                        f"{{'custom': [array (F, 17, 2)]}}") from None
    if kp.ndim != 3 or kp.shape[1] != 17 or kp.shape[2] not in (2, 3, 4) or not len(kp):
        raise DataError(f"{path}: video {video!r} has keypoints of shape {kp.shape}; "
                        f"expected (F, 17, 2) pixels")
    # channels: x, y [, score] or x, y, logit, probability; no score means detected
    score = np.ones(kp.shape[:2] + (1,)) if kp.shape[2] == 2 else kp[..., -1:]
    kp = _drop_non_finite(np.concatenate([kp[..., :2], score], axis=-1))
    size = (meta.get("video_metadata") or {}).get(video) or {}
    return Detections(np.arange(len(kp)), [[a] for a in kp], layout,
                      int(size.get("w", 0)), int(size.get("h", 0)))


def guess_format(path: Path) -> str:
    if path.is_dir():
        return "openpose"
    if path.suffix.lower() == ".npz":
        return "videopose3d"
    if path.suffix.lower() == ".json":
        return "coco"
    raise DataError(f"--format: cannot guess the format of {path}; pass --format "
                    f"{'|'.join(FORMATS)}")


def read_detections(path: Path, fmt: str | None, video: str = "") -> Detections:
    if not path.exists():
        raise DataError(f"--input {path}: no such file or folder")
    fmt = fmt or guess_format(path)
    if fmt == "openpose" and not path.is_dir():
        raise DataError(f"--input {path}: OpenPose output is a folder of per-frame JSON files")
    if fmt != "openpose" and path.is_dir():
        raise DataError(f"--input {path} is a folder; --format {fmt} reads a file")
    if fmt == "coco":
        return read_coco(path)
    if fmt == "openpose":
        return read_openpose(path)
    return read_videopose3d(path, video)


# --------------------------------------------------------------------------- one track
def box_areas(people: np.ndarray, min_score: float) -> np.ndarray:
    """Area of the box around each person's keypoints scoring >= min_score: (P, K, 3) -> (P,)."""
    ok = people[..., 2] >= min_score
    lo = np.where(ok[..., None], people[..., :2], np.inf).min(axis=1)
    hi = np.where(ok[..., None], people[..., :2], -np.inf).max(axis=1)
    area = np.prod(hi - lo, axis=-1)
    return np.where(ok.sum(axis=1) >= 2, area, 0.0)


def select_track(det: Detections, rank: int, min_score: float, joint_min_score: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(F, K, 3) keypoints of the chosen person per frame and (F,) found flags (rank-th box by
    area, mean score >= min_score); missing frames are zeros."""
    k = det.layout.num_keypoints
    out = np.zeros((len(det.frames), k, 3))
    found = np.zeros(len(det.frames), bool)
    for f, people in enumerate(det.people):
        if len(people) <= rank:
            continue
        p = np.stack(people)
        choice = p[np.argsort(-box_areas(p, joint_min_score), kind="stable")[rank]]
        if choice[:, 2].mean() >= min_score:
            out[f], found[f] = choice, True
    return out, found


def fill_missing(xy: np.ndarray, ok: np.ndarray, where: str) -> np.ndarray:
    """Linear interpolation in time of missing joints, held constant before/after the first/last
    seen value. xy (F, 16, 2), ok (F, 16) bool -> (F, 16, 2)."""
    out = xy.copy()
    t = np.arange(len(xy))
    for j in range(xy.shape[1]):
        seen = ok[:, j]
        if not seen.any():
            raise DataError(f"{where}: joint {JOINT_NAMES[j]} is never detected with enough "
                            f"confidence; lower --joint_min_score or check the detections")
        for c in range(2):
            out[:, j, c] = np.interp(t, t[seen], xy[seen, j, c])
    return out


def smooth(xy: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky-Golay filter along time; window 0 = off."""
    if window == 0:
        return xy
    if window < 0 or window % 2 == 0 or window <= order:
        raise DataError(f"--smooth: expected an odd window larger than --smooth_order {order}, "
                        f"got {window}")
    if window > len(xy):
        raise DataError(f"--smooth {window}: longer than the track ({len(xy)} frames)")
    from scipy.signal import savgol_filter
    return savgol_filter(xy, window, order, axis=0)


def convert(det: Detections, args: argparse.Namespace, where: str) -> dict:
    """Detections -> the arrays of the 16-joint file."""
    if not any(len(p) for p in det.people):
        raise DataError(f"{where}: no person in any frame")
    track, found = select_track(det, args.person, args.min_score, args.joint_min_score)
    if not found.any():
        raise DataError(f"{where}: no frame has a person of rank --person {args.person} with a "
                        f"mean score >= --min_score {args.min_score}")
    xy = det.layout.apply(track[..., :2])
    conf = np.where(found[:, None], det.layout.confidence(track[..., 2]), 0.0)
    joint_ok = found[:, None] & (conf >= args.joint_min_score)
    xy = smooth(fill_missing(xy, joint_ok, where), args.smooth, args.smooth_order)
    return {"keypoints": xy.astype(np.float32), "valid": found, "joint_valid": joint_ok,
            "confidence": conf.astype(np.float32), "frame": det.frames.astype(np.int64)}


# --------------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Convert 2D keypoints of one person track into the "
                                            "16-joint input file of run_fk_gan.py --infer.")
    p.add_argument("--input", type=Path, required=True,
                   help="COCO results JSON, OpenPose JSON folder or VideoPose3D custom npz")
    p.add_argument("--output", type=Path, required=True, help="the 16-joint .npz to write")
    p.add_argument("--format", default=None, choices=FORMATS,
                   help="input format (default: guessed from the input)")
    p.add_argument("--width", type=int, default=0, help="image width in pixels")
    p.add_argument("--height", type=int, default=0, help="image height in pixels")
    p.add_argument("--person", type=int, default=0,
                   help="rank of the person by box area in each frame (0 = largest)")
    p.add_argument("--video", default="", help="video name inside a VideoPose3D custom npz")
    p.add_argument("--min_score", type=float, default=0.2,
                   help="frames whose person has a lower mean keypoint score are interpolated")
    p.add_argument("--joint_min_score", type=float, default=0.05,
                   help="joints with a lower score are interpolated")
    p.add_argument("--smooth", type=int, default=0, help="Savitzky-Golay window (odd; 0 = off)")
    p.add_argument("--smooth_order", type=int, default=2, help="Savitzky-Golay polynomial order")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    args = p.parse_args(argv)
    if args.person < 0:
        p.error(f"--person: expected a rank >= 0, got {args.person}")
    return args


def image_size(det: Detections, args: argparse.Namespace) -> tuple[int, int]:
    """--width/--height when given, else the input's own size."""
    if (args.width > 0) != (args.height > 0) or args.width < 0 or args.height < 0:
        raise DataError("--width/--height: give both as positive pixels")
    if args.width > 0:
        return args.width, args.height
    if det.width > 0 and det.height > 0:
        return det.width, det.height
    raise DataError(f"{args.input} does not record the image size; pass --width W --height H")


def run(args: argparse.Namespace) -> None:
    out = check_output_path(args.output, args.force)
    det = read_detections(args.input, args.format, args.video)
    width, height = image_size(det, args)
    arrays = convert(det, args, str(args.input))
    kf.save_keypoints_16(out, arrays.pop("keypoints"), arrays.pop("valid"), width, height,
                         det.layout.name, **arrays)
    n, bad = len(arrays["frame"]), int((~arrays["joint_valid"].all(axis=1)).sum())
    print(f"wrote {out}: {n} frames of {det.layout.name} keypoints as 16 joints, {width}x{height} px, "
          f"{bad} frames with interpolated joints")


main = script_main(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
