"""Convert published 2D detections to the project's 16-joint ``data_2d_h36m_<keypoints>.npz``
(docs/data_formats.md#detections).

Sources:

- ``--cpn`` / ``--detectron``: VideoPose3D's ``data_2d_h36m_cpn_ft_h36m_dbb.npz`` and
  ``data_2d_h36m_detectron_ft_h36m.npz``: ``positions_2d`` = {subject: {action: [4 x (N', 17, 2|3)]}},
  pixels, VideoPose3D's 17-joint order.
- ``--hr-train`` + ``--hr-test``: EvoSkeleton's ``twoDPose_HRN_{train,test}.npy`` (HR-Net detections).
  Assumed layout (inferred from EvoSkeleton's loader and from public code that reads these files; no
  conversion exists in the original): ``np.save`` of a dict keyed by
  ``(subject number, action category, '<Action> <take>.<camera id>.h5')``, e.g.
  ``(9, 'Directions', 'Directions 1.54138969.h5')``, each value a float array (N', 64) = 32 H36M joints
  x (u, v) in pixels of the original image, unnamed joints unused. Values shaped (N', 32, 2) or with 17
  (VideoPose3D order) or 16 joints are accepted too. ``TakingPhoto``/``WalkingDog``/``_`` in the file
  name are mapped to ``Photo``/``WalkDog``/space as in the 3D file.

For every subject/action of the 3D file (``--data-3d``, from ``prepare_data_h36m.py``) the four camera
views are reduced to the 16 joints (Neck/Nose dropped), any confidence channel is dropped, and each
sequence is trimmed to the mocap length N (a detection shorter than N is an error). Detected actions
absent from the 3D file are ignored; an action of the 3D file absent from the detections is an error.
Outputs ``data_2d_h36m_{cpn_ft_h36m_dbb,detectron_ft_h36m,hr}.npz`` in ``--output-dir`` (default: the
working directory, next to the 3D file when run from ``data/``), with 16-joint metadata.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from data import h36m_format as fmt  # noqa: E402
from utils import skeleton  # noqa: E402
from utils.camera import H36M_CAMERA_IDS  # noqa: E402
from utils.cli import script_main  # noqa: E402
from utils.io import DataError, check_output_path, load_npz, unpack_object  # noqa: E402

VIDEOPOSE3D_URL = "https://dl.fbaipublicfiles.com/video-pose-3d/"
HR_HINT = ("download EvoSkeleton's twoDPose_HRN_train.npy / twoDPose_HRN_test.npy "
           "(see README, 'Data preparation')")
JOINT_SELECTION = {32: skeleton.H36M32_TO_16, 17: skeleton.H36M17_TO_16,
                   16: tuple(range(skeleton.NUM_JOINTS))}


# --------------------------------------------------------------------------- readers
def read_videopose3d(path: Path) -> dict:
    """{subject: {action: [4 x (N', 16, 2)]}} from a 17-joint VideoPose3D detection file."""
    z = load_npz(path, ("positions_2d",), hint=f"download it from {VIDEOPOSE3D_URL}{path.name}")
    data = unpack_object(z["positions_2d"], path, "positions_2d")
    if not isinstance(data, dict):
        raise DataError(f"{path}: positions_2d should be a dict subject -> action -> 4 arrays")
    out: dict = {}
    for s, acts in data.items():
        out[s] = {}
        for a, views in acts.items():
            if len(views) != 4:
                raise DataError(f"{path}: {s}/{a} has {len(views)} camera views; expected 4")
            out[s][a] = [_to_16_joints(v, f"{path}: {s}/{a} camera {i}", allowed=(17,))
                         for i, v in enumerate(views)]
    return out


def _to_16_joints(v: np.ndarray, where: str, allowed: tuple[int, ...]) -> np.ndarray:
    """(N', J, 2|3) detections -> float32 (N', 16, 2): joints selected, confidence dropped."""
    v = np.asarray(v)
    if v.ndim != 3 or v.shape[2] not in (2, 3) or v.shape[1] not in allowed:
        shapes = " or ".join(f"(N, {j}, 2)" for j in allowed)
        extra = " (already converted?)" if v.ndim == 3 and v.shape[1] == 16 else ""
        raise DataError(f"{where} has shape {v.shape}; expected {shapes}, pixels, optionally with "
                        f"a third confidence channel{extra}")
    v = v[:, list(JOINT_SELECTION[v.shape[1]]), :2]
    if not np.isfinite(v).all():
        raise DataError(f"{where} contains NaN or inf")
    return v.astype(np.float32)


def _parse_hr_key(key: object, path: Path) -> tuple[str, str, int]:
    """(9, 'Directions', 'Directions 1.54138969.h5') -> ('S9', 'Directions 1', camera slot 0)."""
    if not (isinstance(key, tuple) and len(key) == 3):
        raise DataError(f"{path}: key {key!r}; expected (subject, action category, "
                        f"'<Action>.<camera id>.h5')")
    subject = str(key[0])
    subject = subject if subject.startswith("S") else f"S{subject}"
    name = str(key[2])
    if name.endswith(".h5"):
        name = name[:-3]
    seq, _, cam = name.rpartition(".")
    if not seq or cam not in H36M_CAMERA_IDS:
        raise DataError(f"{path}: key {key!r}: file name should be '<Action>.<camera id>.h5' with a "
                        f"camera id in {', '.join(H36M_CAMERA_IDS)}")
    seq = seq.replace("_", " ").replace("TakingPhoto", "Photo").replace("WalkingDog", "WalkDog")
    return subject, seq, H36M_CAMERA_IDS.index(cam)


def _load_pickled_dict(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"missing file {path}; {HR_HINT}")
    try:
        obj = np.load(path, allow_pickle=True)
    except Exception as exc:
        raise DataError(f"cannot read {path} as a .npy file: {exc}") from None
    if not (isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ()) \
            or not isinstance(obj.item(), dict):
        raise DataError(f"{path}: expected a pickled dict (subject, action, file name) -> (N, 64) "
                        f"array, got {type(obj).__name__} {getattr(obj, 'shape', '')}")
    return obj.item()


def read_hr(paths: tuple[Path, Path]) -> dict:
    """{subject: {action: {camera slot: (N', 16, 2)}}} from the EvoSkeleton train + test files."""
    out: dict = {}
    for path in paths:
        for key, value in _load_pickled_dict(path).items():
            subject, seq, slot = _parse_hr_key(key, path)
            where = f"{path}: {key!r}"
            arr = np.asarray(value)
            if arr.ndim == 2 and arr.shape[1] % 2 == 0:
                arr = arr.reshape(len(arr), -1, 2)
            views = out.setdefault(subject, {}).setdefault(seq, {})
            if slot in views:
                raise DataError(f"{where}: {subject}/{seq} camera {H36M_CAMERA_IDS[slot]} appears "
                                f"twice in {paths[0]} and {paths[1]}")
            views[slot] = _to_16_joints(arr, where, allowed=(32, 17, 16))
    return out


# --------------------------------------------------------------------------- alignment with the 3D file
def align_to_3d(detections: dict, positions_3d: dict, source: str) -> tuple[dict, list[str]]:
    """Keep, for each 3D subject/action, the first N frames of each of the 4 views.

    ``detections`` maps subject -> action -> 4 views, either a list or a dict keyed by camera
    slot. Returns the aligned dict and the 'subject/action' names that were ignored.
    """
    out: dict = {}
    for s, acts in positions_3d.items():
        if s not in detections:
            raise DataError(f"{source}: subject {s} missing; expected the subjects of the 3D file "
                            f"({', '.join(positions_3d)})")
        out[s] = {}
        for a, pose in acts.items():
            if a not in detections[s]:
                raise DataError(f"{source}: action {s}/{a} of the 3D file is missing")
            views = detections[s][a]
            n = len(pose)
            aligned = []
            for slot in range(4):
                if isinstance(views, dict) and slot not in views:
                    raise DataError(f"{source}: {s}/{a} camera {H36M_CAMERA_IDS[slot]} is missing")
                v = views[slot]
                if len(v) < n:
                    raise DataError(f"{source}: {s}/{a} camera {slot} has {len(v)} frames; expected at "
                                    f"least {n} (the mocap length in the 3D file)")
                aligned.append(v[:n])
            out[s][a] = aligned
    ignored = [f"{s}/{a}" for s, acts in detections.items() for a in acts
               if a not in positions_3d.get(s, {})]
    return out, ignored


# --------------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Convert detected 2D keypoints to 16-joint files.")
    p.add_argument("--data-3d", type=Path, required=True,
                   help="data_3d_h36m.npz made by data/prepare_data_h36m.py")
    p.add_argument("--cpn", type=Path, help="VideoPose3D's data_2d_h36m_cpn_ft_h36m_dbb.npz")
    p.add_argument("--detectron", type=Path, help="VideoPose3D's data_2d_h36m_detectron_ft_h36m.npz")
    p.add_argument("--hr-train", type=Path, help="EvoSkeleton's twoDPose_HRN_train.npy")
    p.add_argument("--hr-test", type=Path, help="EvoSkeleton's twoDPose_HRN_test.npy")
    p.add_argument("--output-dir", type=Path, default=Path("."),
                   help="where to write data_2d_h36m_<keypoints>.npz (default: the working directory)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = p.parse_args(argv)
    if (args.hr_train is None) != (args.hr_test is None):
        p.error("--hr-train and --hr-test go together")
    if args.cpn is None and args.detectron is None and args.hr_train is None:
        p.error("give at least one of --cpn, --detectron, --hr-train/--hr-test")
    return args


def _check_output(out: Path, inputs: list[Path], force: bool) -> None:
    if out.exists() and any(out.resolve() == i.resolve() for i in inputs) and not force:
        raise DataError(f"{out} is both input and output; pass --force to convert it in place "
                        f"(the 17-joint original will be replaced) or choose another --output-dir")
    check_output_path(out, force)


def run(args: argparse.Namespace) -> None:
    jobs = []  # (keypoints name, inputs, reader)
    if args.cpn is not None:
        jobs.append(("cpn_ft_h36m_dbb", [args.cpn], lambda p=args.cpn: read_videopose3d(p)))
    if args.detectron is not None:
        jobs.append(("detectron_ft_h36m", [args.detectron],
                     lambda p=args.detectron: read_videopose3d(p)))
    if args.hr_train is not None:
        hr = (args.hr_train, args.hr_test)
        jobs.append(("hr", list(hr), lambda p=hr: read_hr(p)))
    outputs = {name: fmt.file_2d(args.output_dir, name) for name, _, _ in jobs}
    for name, inputs, _ in jobs:
        _check_output(outputs[name], inputs, args.force)

    positions_3d = fmt.load_positions_3d(args.data_3d)
    for name, inputs, reader in jobs:
        source = " + ".join(str(i) for i in inputs)
        aligned, ignored = align_to_3d(reader(), positions_3d, source)
        fmt.save_positions_2d(outputs[name], aligned, fmt.GT_2D_METADATA)
        n_seq = sum(len(a) for a in aligned.values())
        print(f"wrote {outputs[name]}: {n_seq} sequences x 4 cameras (16 joints, pixels, "
              f"trimmed to the mocap length)")
        if ignored:
            shown = ", ".join(ignored[:10]) + (", ..." if len(ignored) > 10 else "")
            print(f"  ignored {len(ignored)} sequence(s) of {source} absent from {args.data_3d}: "
                  f"{shown}")


main = script_main(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
