"""Build ``data_3d_h36m.npz`` and ``data_2d_h36m_gt.npz`` from the Human3.6M mocap
(docs/data_formats.md#h36m-3d, docs/data_formats.md#h36m-2d).

Two sources are accepted:

- ``--from-archive h36m.zip``: the Martinez / SemGCN preprocessed archive. Members
  ``h36m/<S>/MyPoses/3D_positions/<Action>.h5`` hold a dataset ``3D_positions`` of shape (96, N),
  row-major (joint 32, coord 3, frame N), in millimetres.
- ``--from-source DIR``: the original release converted to MATLAB files as VideoPose3D does,
  ``DIR/<S>/MyPoseFeatures/D3_Positions/<Action>.cdf.mat``, each holding a 1x1 cell ``data`` with an
  (N, 96) matrix (frame, joint 32 x coord 3), millimetres. MATLAB v5 files are read with scipy;
  v7.3 (HDF5) files with h5py. Action names are made consistent with the archive
  (``TakingPhoto`` -> ``Photo``, ``WalkingDog`` -> ``WalkDog``).

Either way S11 ``Directions`` (corrupted video) is skipped, poses become float32 metres, and the
ground-truth 2D is the distorted projection of the 16 joints into the four cameras, in pixels.
A partial input (a subject missing, or fewer than 30 sequences) is prepared with a warning.
Outputs go to ``--output-dir`` (default: the working directory, as in ``cd data; python
prepare_data_h36m.py --from-archive h36m.zip``); existing files are kept unless ``--force``.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from data import h36m_format as fmt  # noqa: E402
from utils.camera import H36M_SUBJECTS  # noqa: E402
from utils.cli import script_main  # noqa: E402
from utils.io import DataError, check_output_path  # noqa: E402

FILES_PER_SUBJECT = 30
ACTION_CATEGORIES = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
                     "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking",
                     "WalkTogether")
SKIPPED = {("S11", "Directions")}  # corrupted video in the original release
ARCHIVE_MEMBER = re.compile(r"(?:^|/)(S\d+)/MyPoses/3D_positions/([^/]+)\.h5$")
SOURCE_GLOB = "MyPoseFeatures/D3_Positions/*.cdf.mat"
ARCHIVE_HINT = ("the Martinez/SemGCN archive h36m.zip (see README, 'Data preparation'; "
                "members h36m/<S>/MyPoses/3D_positions/<Action>.h5)")


def canonical_action(name: str) -> str:
    """Original-release action names -> the archive's naming."""
    return name.replace("TakingPhoto", "Photo").replace("WalkingDog", "WalkDog")


def positions_from_archive_array(raw: np.ndarray, where: str) -> np.ndarray:
    """(96, N) millimetres, laid out (joint, coord, frame) -> float32 (N, 32, 3) metres."""
    raw = np.asarray(raw)
    if raw.ndim != 2 or raw.shape[0] != 96:
        raise DataError(f"{where}: 3D_positions has shape {raw.shape}; expected (96, N)")
    return _to_metres(raw.reshape(32, 3, -1).transpose(2, 0, 1), where)


def positions_from_source_array(raw: np.ndarray, where: str) -> np.ndarray:
    """(N, 96) millimetres, laid out (frame, joint, coord) -> float32 (N, 32, 3) metres."""
    raw = np.asarray(raw)
    if raw.ndim != 2 or raw.shape[1] != 96:
        raise DataError(f"{where}: pose matrix has shape {raw.shape}; expected (N, 96)")
    return _to_metres(raw.reshape(-1, 32, 3), where)


def _to_metres(mm: np.ndarray, where: str) -> np.ndarray:
    if mm.shape[0] == 0:
        raise DataError(f"{where}: sequence has no frames")
    if not np.isfinite(mm).all():
        raise DataError(f"{where}: contains NaN or inf")
    return (mm.astype(np.float64) / 1000).astype(np.float32)


# --------------------------------------------------------------------------- readers
def read_archive(path: Path) -> tuple[dict, dict]:
    """Read h36m.zip -> (positions {S: {action: (N,32,3)}}, files found {S: [action, ...]}).

    ``files found`` includes the skipped S11 'Directions' so that completeness counts match
    the 30-files-per-subject layout.
    """
    import h5py

    if not path.is_file():
        raise DataError(f"missing file {path}; expected {ARCHIVE_HINT}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read {path} as a zip archive: {exc}") from None
    positions: dict = {}
    found: dict = {}
    with archive:
        for member in sorted(archive.namelist()):
            m = ARCHIVE_MEMBER.search(member)
            if m is None or m.group(1) not in H36M_SUBJECTS:
                continue
            subject, action = m.group(1), m.group(2)
            found.setdefault(subject, []).append(action)
            if (subject, action) in SKIPPED:
                continue
            where = f"{path}:{member}"
            try:
                with h5py.File(io.BytesIO(archive.read(member)), "r") as hf:
                    if "3D_positions" not in hf:
                        raise DataError(f"{where}: no dataset '3D_positions'; found {sorted(hf)}")
                    raw = hf["3D_positions"][()]
            except OSError as exc:
                raise DataError(f"cannot read {where} as an HDF5 file: {exc}") from None
            positions.setdefault(subject, {})[action] = positions_from_archive_array(raw, where)
    return positions, found


def _read_cdf_mat(path: Path) -> np.ndarray:
    """The (N, 96) pose matrix of a VideoPose3D-style ``.cdf.mat`` file (MATLAB v5 or v7.3)."""
    import h5py
    from scipy.io import loadmat

    if h5py.is_hdf5(path):  # MATLAB v7.3
        return _read_cdf_mat_hdf5(path)
    try:
        mat = loadmat(str(path))
    except Exception as exc:
        raise DataError(f"cannot read {path} as a MATLAB file: {exc}") from None
    if "data" not in mat:
        names = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"{path}: no variable 'data'; found {names}")
    data = mat["data"]
    if data.dtype == object:  # the 1x1 cell written by cdfread
        if data.size != 1:
            raise DataError(f"{path}: 'data' is a cell of shape {data.shape}; expected 1x1")
        data = data.flat[0]
    return np.asarray(data)


def _read_cdf_mat_hdf5(path: Path) -> np.ndarray:
    import h5py

    try:
        with h5py.File(path, "r") as hf:
            if "data" not in hf:
                raise DataError(f"{path}: no variable 'data'; found {sorted(hf)}")
            data = hf["data"]
            if data.dtype == h5py.ref_dtype:  # a cell: follow its single reference
                refs = data[()]
                if refs.size != 1:
                    raise DataError(f"{path}: 'data' is a cell of shape {refs.shape}; expected 1x1")
                data = hf[refs.flat[0]]
            # MATLAB stores column-major: h5py sees the transpose of the (N, 96) matrix.
            return np.asarray(data[()]).T
    except OSError as exc:
        raise DataError(f"cannot read {path} as a MATLAB file: {exc}") from None


def read_source(root: Path) -> tuple[dict, dict]:
    """Read ``root/<S>/MyPoseFeatures/D3_Positions/*.cdf.mat`` -> (positions, files found)."""
    if not root.is_dir():
        raise DataError(f"--from-source {root}: not a directory; expected the Human3.6M folder with "
                        f"<S>/{SOURCE_GLOB} (converted with VideoPose3D's convert_cdf_to_mat.m)")
    positions: dict = {}
    found: dict = {}
    for subject in H36M_SUBJECTS:
        for f in sorted((root / subject).glob(SOURCE_GLOB)):
            action = canonical_action(f.name[: -len(".cdf.mat")])
            found.setdefault(subject, []).append(action)
            if (subject, action) in SKIPPED:
                continue
            positions.setdefault(subject, {})[action] = positions_from_source_array(
                _read_cdf_mat(f), str(f))
    return positions, found


# --------------------------------------------------------------------------- completeness
def missing_report(found: dict) -> list[str]:
    """One line per subject whose sequences differ from the full 30 (2 per action category)."""
    lines = []
    for subject in H36M_SUBJECTS:
        actions = found.get(subject, [])
        if not actions:
            lines.append(f"{subject}: missing (0 of {FILES_PER_SUBJECT} sequences)")
            continue
        if len(actions) == FILES_PER_SUBJECT:
            continue
        counts = Counter(fmt.action_category(a) for a in actions)
        short = [f"{c} ({counts[c]} of 2)" for c in ACTION_CATEGORIES if counts[c] < 2]
        line = f"{subject}: {len(actions)} of {FILES_PER_SUBJECT} sequences"
        if short:
            line += "; short: " + ", ".join(short)
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Prepare data_3d_h36m.npz and data_2d_h36m_gt.npz.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-archive", metavar="ZIP", type=Path,
                     help="Martinez/SemGCN h36m.zip (h36m/<S>/MyPoses/3D_positions/*.h5)")
    src.add_argument("--from-source", metavar="DIR", type=Path,
                     help="Human3.6M folder with <S>/MyPoseFeatures/D3_Positions/*.cdf.mat")
    p.add_argument("--output-dir", type=Path, default=Path("."),
                   help="where to write the two files (default: the working directory)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    out_3d = check_output_path(fmt.file_3d(args.output_dir), args.force)
    out_2d = check_output_path(fmt.file_2d(args.output_dir, "gt"), args.force)
    if args.from_archive is not None:
        source = args.from_archive
        positions, found = read_archive(source)
    else:
        source = args.from_source
        positions, found = read_source(source)
    if not positions:
        expected = ARCHIVE_HINT if args.from_archive is not None else f"<S>/{SOURCE_GLOB} files"
        raise DataError(f"{source}: no usable sequence found; expected {expected} "
                        f"for subjects {', '.join(H36M_SUBJECTS)}")
    for line in missing_report(found):
        print(f"warning: incomplete input {source}: {line}", file=sys.stderr)

    positions_2d = fmt.compute_gt_2d(positions)  # before writing, so a failure leaves nothing half-done
    fmt.save_positions_3d(out_3d, positions)
    fmt.save_positions_2d(out_2d, positions_2d, fmt.GT_2D_METADATA)
    n_seq = sum(len(a) for a in positions.values())
    n_frames = sum(len(p) for a in positions.values() for p in a.values())
    print(f"wrote {out_3d}: {len(positions)} subjects, {n_seq} sequences, {n_frames} frames "
          f"(32 joints, metres)")
    print(f"wrote {out_2d}: {n_seq} sequences x 4 cameras (16 joints, pixels)")


main = script_main(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
