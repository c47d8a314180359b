"""Build the 3DHP test file ``test_set/test_3dhp.npz`` from SPIN's ``mpi_inf_3dhp_valid.npz``
(docs/data_formats.md#3dhp).

Input keys: ``imgname`` (N,) paths containing ``/TS<k>/``, ``part`` (N, 24, 3) pixel x, y, visibility,
``S`` (N, 24, 4) root-relative metres x, y, z, confidence (SPIN's 24-joint order).
Output (through ``data.h36m_format.save_3dhp``): ``pose3d`` (N, 16, 3) metres, root-relative;
``pose2d`` (N, 16, 2) screen-normalised by the image width (no intrinsics), multiplied by the
visibility; ``seq_id`` (N,) the test sequence 1..6 of each row. SPIN's file has 2929 rows.
Image size per row: TS5/TS6 are 1920x1080, the others 2048x2048.
``--output-dir`` is the data_extra folder (default: the folder of this script, i.e. the repo's
``data_extra``, where the original keeps it); the file goes to ``<output-dir>/test_set/``.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from data import h36m_format as fmt  # noqa: E402
from utils.camera import normalize_screen_coordinates  # noqa: E402
from utils.cli import add_output_options, script_main  # noqa: E402
from utils.io import DataError, check_output_path, load_npz  # noqa: E402

SPIN24_TO_16 = (14, 2, 1, 0, 3, 4, 5, 16, 12, 18, 9, 10, 11, 8, 7, 6)
EXPECTED_ROWS = 2929
SPIN_HINT = ("SPIN's dataset_extras/mpi_inf_3dhp_valid.npz (see README, 'Data preparation')")
SEQUENCE = re.compile(r"(?:^|[/\\])TS([1-6])[/\\]")
MAX_ABS_METRES = 10.0  # a larger coordinate means the input is not in metres


def sequence_ids(imgname: np.ndarray, path: Path) -> np.ndarray:
    """Test-sequence number 1..6 of each row, read from the ``/TS<k>/`` folder in ``imgname``."""
    ids = np.empty(len(imgname), dtype=np.int64)
    for i, name in enumerate(imgname):
        m = SEQUENCE.search(str(name))
        if m is None:
            raise DataError(f"{path}: imgname[{i}] = {str(name)!r} names no test sequence; "
                            f"expected a path containing /TS1/ .. /TS6/")
        ids[i] = int(m.group(1))
    return ids


def image_sizes(seq_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(width, height) in pixels per row: TS5 and TS6 are 1920x1080, TS1..TS4 2048x2048."""
    hd = (seq_id == 5) | (seq_id == 6)
    return np.where(hd, 1920, 2048), np.where(hd, 1080, 2048)


def convert(z: dict, path: Path) -> dict:
    """SPIN arrays -> {'pose3d', 'pose2d', 'seq_id'} in the project's 16-joint order."""
    imgname, part, S = np.asarray(z["imgname"]), np.asarray(z["part"]), np.asarray(z["S"])
    n = len(imgname)
    if part.ndim != 3 or part.shape[1:] != (24, 3):
        raise DataError(f"{path}: part has shape {part.shape}; expected (N, 24, 3) pixel x, y, visibility")
    if S.ndim != 3 or S.shape[1:] != (24, 4):
        raise DataError(f"{path}: S has shape {S.shape}; expected (N, 24, 4) metres x, y, z, confidence")
    if not (len(part) == len(S) == n) or n == 0:
        raise DataError(f"{path}: imgname, part and S have {n}, {len(part)}, {len(S)} rows; "
                        f"expected the same non-zero number")
    idx = list(SPIN24_TO_16)
    part, S = part[:, idx], S[:, idx]
    if not (np.isfinite(part).all() and np.isfinite(S).all()):
        raise DataError(f"{path}: part or S contains NaN or inf")
    if not np.array_equal(part[..., 2], S[..., 3]):
        raise DataError(f"{path}: the 2D visibility (part[..., 2]) and the 3D confidence (S[..., 3]) "
                        f"differ on the 16 used joints; expected identical masks")
    if np.abs(S[..., :3]).max() > MAX_ABS_METRES:
        raise DataError(f"{path}: S has coordinates up to {np.abs(S[..., :3]).max():.1f}; "
                        f"expected root-relative metres")

    seq_id = sequence_ids(imgname, path)
    w, h = image_sizes(seq_id)
    uv = torch.from_numpy(part[..., :2].astype(np.float64))
    xy = normalize_screen_coordinates(uv, torch.from_numpy(w).double(), torch.from_numpy(h).double())
    pose2d = xy.numpy() * part[..., 2:3]
    pose3d = S[..., :3] - S[:, :1, :3]  # SPIN's S is already root-relative; this makes sure
    return {"pose3d": pose3d.astype(np.float32), "pose2d": pose2d.astype(np.float32),
            "seq_id": seq_id}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Prepare test_set/test_3dhp.npz from SPIN's 3DHP test file.")
    p.add_argument("--input", type=Path, required=True, help="SPIN's mpi_inf_3dhp_valid.npz")
    add_output_options(p, Path(__file__).resolve().parent, "the data_extra folder")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    out = check_output_path(fmt.file_3dhp(args.output_dir), args.force)
    z = load_npz(args.input, ("imgname", "part", "S"), hint=f"download {SPIN_HINT}")
    data = convert(z, args.input)
    n = len(data["seq_id"])
    if n != EXPECTED_ROWS:
        print(f"warning: {args.input} has {n} rows; SPIN's test file has {EXPECTED_ROWS}",
              file=sys.stderr)
    fmt.save_3dhp(out, data["pose3d"], data["pose2d"], data["seq_id"])
    counts = ", ".join(f"TS{k} {int((data['seq_id'] == k).sum())}" for k in range(1, 7))
    print(f"wrote {out}: {n} frames (pose3d metres root-relative, pose2d normalised, seq_id); {counts}")


main = script_main(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
