"""Per-DOF statistics of the DH angles of a dataset, beside the angle-range tables.

Fits the DH model to every selected frame of ``data_3d_h36m.npz`` by inverse kinematics and
prints, for each of the 33 link angles and the 3 global rotation angles: min, percentiles, max,
and the share of frames inside the GAN-mode and normal-mode ranges (docs/dh_model.md#ranges), so
one can see how much of real motion the ranges cover.  Also prints the fit residual (how far the DH
model is from the data's skeleton).

    python bench/dof_statistics.py --data_dir data [--subjects S1 S5 S6 S7 S8]
        [--stride 5] [--max-frames 20000] [--csv out.csv [--force]]

Caveats: angles are wrapped to [-180, 180); links with no effect come out as 0; redundant
body angles (three per spine/neck segment for two or three observable DOF) follow the IK's
conventions (pelvis frame from the hip line and spine, small ridge towards 0).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from data import h36m_format as fmt  # noqa: E402
from models import dh_tables as T  # noqa: E402
from models.inverse_kinematics import inverse_kinematics  # noqa: E402
from utils import skeleton  # noqa: E402
from utils.device import resolve_device  # noqa: E402
from utils.io import DataError, atomic_write, check_output_path, run_command  # noqa: E402

DEFAULT_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
PERCENTILES = (1, 5, 50, 95, 99)


def select_frames(positions_3d: dict, subjects: list[str], stride: int, max_frames: int,
                  source: Path) -> np.ndarray:
    """16-joint world poses (M, 16, 3): every ``stride``-th frame of every sequence of the
    subjects, then at most ``max_frames`` of them, evenly spaced (0 = no limit)."""
    missing = [s for s in subjects if s not in positions_3d]
    if missing:
        raise DataError(f"{source}: no subject(s) {missing} (--subjects); found {sorted(positions_3d)}")
    seqs = [fmt.reduce_to_16(positions_3d[s][a][::stride])
            for s in subjects for a in sorted(positions_3d[s])]
    poses = np.concatenate(seqs) if seqs else np.zeros((0, 16, 3), np.float32)
    if len(poses) == 0:
        raise DataError(f"{source}: no frames selected (--subjects {' '.join(subjects)}, --stride {stride})")
    if 0 < max_frames < len(poses):
        poses = poses[np.linspace(0, len(poses) - 1, max_frames).round().astype(int)]
    return poses


def fit(poses: np.ndarray, chunk: int, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """IK in chunks -> (angles+global (M, 36) degrees, residual (M, 16) metres)."""
    angles, residuals = [], []
    for start in range(0, len(poses), chunk):
        p = torch.from_numpy(np.asarray(poses[start:start + chunk], np.float64)).to(device)
        a, g, _, res = inverse_kinematics(p)
        angles.append(torch.cat([a, g], -1).cpu().numpy())
        residuals.append(res.cpu().numpy())
    return np.concatenate(angles), np.concatenate(residuals)


def dof_rows() -> list[tuple[str, str, tuple, tuple, bool]]:
    """(name, role, GAN range, normal range, has effect) for the 33 link angles and 3 global ones."""
    rows = [(f"{r.chain}{r.link}", r.role, r.gan_range, r.normal_range, r.role != "no effect")
            for r in T.DOF_TABLE]
    for axis, gan, normal in zip("xyz", T.GLOBAL_GAN_RANGE, T.GLOBAL_NORMAL_RANGE):
        rows.append((f"global {axis}", "global rotation", gan, normal, True))
    return rows


def statistics(values: np.ndarray) -> list[dict]:
    """One dict per DOF: min, percentiles, max, and % of frames inside each range."""
    out = []
    for k, (name, role, gan, normal, effect) in enumerate(dof_rows()):
        v = values[:, k]
        row = {"dof": name, "role": role, "gan_min": gan[0], "gan_max": gan[1],
               "normal_min": normal[0], "normal_max": normal[1], "min": v.min(), "max": v.max()}
        row.update({f"p{q}": p for q, p in zip(PERCENTILES, np.percentile(v, PERCENTILES))})
        row["in_gan_%"] = 100.0 * np.mean((v >= gan[0]) & (v <= gan[1])) if effect else float("nan")
        row["in_normal_%"] = (100.0 * np.mean((v >= normal[0]) & (v <= normal[1]))
                              if effect else float("nan"))
        out.append(row)
    return out


def format_table(rows: list[dict]) -> str:
    def rng(lo, hi):
        return f"({lo:g},{hi:g})"

    head = (f"{'DOF':<10}{'role':<22}{'GAN range':>12}{'normal':>12}{'min':>8}"
            + "".join(f"{'p' + str(q):>8}" for q in PERCENTILES) + f"{'max':>8}{'in GAN':>8}{'in norm':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        cover = (f"{r['in_gan_%']:>7.1f}%{r['in_normal_%']:>7.1f}%" if not np.isnan(r["in_gan_%"])
                 else f"{'-':>8}{'-':>8}")
        lines.append(f"{r['dof']:<10}{r['role']:<22}{rng(r['gan_min'], r['gan_max']):>12}"
                     f"{rng(r['normal_min'], r['normal_max']):>12}{r['min']:>8.1f}"
                     + "".join(f"{r['p' + str(q)]:>8.1f}" for q in PERCENTILES)
                     + f"{r['max']:>8.1f}{cover}")
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    atomic_write(path, write)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default="data", help="folder with data_3d_h36m.npz")
    p.add_argument("--subjects", nargs="+", default=list(DEFAULT_SUBJECTS))
    p.add_argument("--stride", type=int, default=5, help="keep every n-th frame of each sequence")
    p.add_argument("--max-frames", "--max_frames", dest="max_frames", type=int, default=20000,
                   help="at most this many frames, evenly spaced (0 = all)")
    p.add_argument("--chunk", type=int, default=2048, help="frames per IK batch")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    p.add_argument("--force", action="store_true", help="overwrite --csv if it exists")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    if args.stride < 1 or args.max_frames < 0 or args.chunk < 1 or args.threads < 0:
        raise DataError("--stride and --chunk must be >= 1, --max-frames and --threads >= 0")
    device = resolve_device(args.device)
    csv_path = check_output_path(args.csv, args.force) if args.csv else None
    if args.threads:
        torch.set_num_threads(args.threads)
    source = fmt.file_3d(args.data_dir)
    poses = select_frames(fmt.load_positions_3d(source), args.subjects, args.stride,
                          args.max_frames, source)
    t0 = time.perf_counter()
    values, residual = fit(poses, args.chunk, device)
    took = time.perf_counter() - t0
    rows = statistics(values)
    print(f"{source}: {len(poses)} frames of {' '.join(args.subjects)} (stride {args.stride}); "
          f"IK {took:.1f} s")
    per_joint = residual.mean(0) * 1000
    print(f"IK residual: mean {residual.mean() * 1000:.2f} mm per joint, per-pose mean p95 "
          f"{np.percentile(residual.mean(1), 95) * 1000:.2f} mm, max joint {residual.max() * 1000:.1f} mm")
    print("per joint (mm): " + ", ".join(f"{n} {v:.1f}" for n, v in zip(skeleton.JOINT_NAMES, per_joint)))
    print(format_table(rows))
    if csv_path is not None:
        write_csv(csv_path, rows)
        print(f"wrote {csv_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
