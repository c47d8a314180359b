"""How far the synthetic 3DHP-like test poses lie from the H36M-like training poses.

For every test pose (camera frame, root-relative, as a lifter predicts it) find the nearest
training pose (S1, S5, S6, S7, S8, all 4 cameras) under the project's P1 distance (mean joint
error over the 16 joints after root alignment, mm) and report the fraction farther than a
threshold (default 100 mm), for the 3DHP-like set (overall and per test sequence) and, for
contrast, for the H36M-like test subjects S9 and S11. The same after the best rotation about
the root separates the pose gap from the camera-view gap. Also prints the simulated
detector's 2D error. Optional histogram figure (--plot).

Usage: python bench/synthetic_domain_gap.py [--data-dir data/synthetic] [--seed 0]
       [--size default] [--threshold 100] [--plot gap.png] [--json out.json]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json

import numpy as np
import torch

from data import h36m_format
from data.prepare_data_synthetic import DETECTED_KEYPOINTS, EXTRA_DIR, ensure_synthetic_dataset
from utils import camera
from utils.io import DataError

TRAIN = ("S1", "S5", "S6", "S7", "S8")
TEST = ("S9", "S11")


def camera_frame_poses(positions: dict, subjects: tuple) -> np.ndarray:
    """(M, 16, 3) root-relative camera-frame poses of ``subjects``, all actions and cameras."""
    table = camera.h36m_camera_table(subjects).double()
    out = []
    for i, s in enumerate(subjects):
        world = torch.from_numpy(np.concatenate(
            [h36m_format.reduce_to_16(p) for p in positions[s].values()]).astype(np.float64))
        X = camera.world_to_camera(world.unsqueeze(0), table[i, :, None, 9:13],
                                   table[i, :, None, 13:16])               # (4, N, 16, 3)
        out.append((X - X[..., :1, :]).reshape(-1, 16, 3).numpy())
    return np.concatenate(out)


def nearest_p1(query: np.ndarray, bank: np.ndarray, k: int = 64, chunk: int = 256) -> np.ndarray:
    """Distance (mm) from each query pose (Q, 16, 3) to its nearest bank pose (B, 16, 3) under
    P1 (mean joint error). Candidates: the k nearest in plain L2 over all coordinates, then
    re-ranked exactly."""
    q = torch.from_numpy(query.astype(np.float32))
    b = torch.from_numpy(bank.astype(np.float32))
    qf, bf = q.reshape(len(q), -1), b.reshape(len(b), -1)
    best = []
    for s in range(0, len(q), chunk):
        d2 = torch.cdist(qf[s:s + chunk], bf)
        idx = d2.topk(min(k, len(b)), largest=False).indices                 # (c, k)
        cand = b[idx]                                                         # (c, k, 16, 3)
        p1 = (cand - q[s:s + chunk, None]).norm(dim=-1).mean(-1)               # (c, k)
        best.append(p1.min(-1).values)
    return torch.cat(best).numpy() * 1000.0


def canonical(poses: np.ndarray) -> np.ndarray:
    """Rotate root-relative poses (M, 16, 3) into a body frame (x along the hips, z along the
    spine), removing the camera's view of the person."""
    x = poses[:, 1] - poses[:, 4]
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    z = poses[:, 7] - (poses[:, 7] * x).sum(-1, keepdims=True) * x
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    R = np.stack([x, np.cross(z, x), z], axis=1)                              # rows = axes
    return np.einsum("mij,mkj->mki", R, poses)


def nearest_rotation_aligned(query: np.ndarray, bank: np.ndarray, k: int = 64,
                             chunk: int = 256) -> np.ndarray:
    """Like :func:`nearest_p1` but after the best rotation about the root (Kabsch, no
    scaling): the pose-only part of the gap. Candidates come from the body-frame poses."""
    qc, bc = canonical(query), canonical(bank)
    q = torch.from_numpy(query.astype(np.float64))
    b = torch.from_numpy(bank.astype(np.float64))
    qf = torch.from_numpy(qc.reshape(len(qc), -1).astype(np.float32))
    bf = torch.from_numpy(bc.reshape(len(bc), -1).astype(np.float32))
    best = []
    for s in range(0, len(q), chunk):
        idx = torch.cdist(qf[s:s + chunk], bf).topk(min(k, len(b)), largest=False).indices
        Y = b[idx]                                                            # (c, k, 16, 3)
        X = q[s:s + chunk, None].expand_as(Y)
        U, _, Vh = torch.linalg.svd(Y.transpose(-1, -2) @ X)
        d = torch.sign(torch.linalg.det(U @ Vh))
        D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
        R = U @ D @ Vh                                                        # Y @ R ~ X
        err = (Y @ R - X).norm(dim=-1).mean(-1)
        best.append(err.min(-1).values)
    return torch.cat(best).numpy() * 1000.0


def detector_error(data_dir: Path) -> dict:
    gt = h36m_format.load_positions_2d(h36m_format.file_2d(data_dir, "gt"))
    det = h36m_format.load_positions_2d(h36m_format.file_2d(data_dir, DETECTED_KEYPOINTS))
    err = np.concatenate([np.linalg.norm(d - g, axis=-1).ravel()
                          for s in gt for a in gt[s] for d, g in zip(det[s][a], gt[s][a])])
    return {"mean_px": float(err.mean()), "median_px": float(np.median(err)),
            "p95_px": float(np.percentile(err, 95))}


def summarise(dist: np.ndarray, threshold: float) -> dict:
    return {"n": int(len(dist)), "frac_far": float((dist > threshold).mean()),
            "median_mm": float(np.median(dist)), "p90_mm": float(np.percentile(dist, 90))}


def run(data_dir: Path, threshold: float) -> dict:
    positions = h36m_format.load_positions_3d(h36m_format.file_3d(data_dir))
    dhp = h36m_format.load_3dhp(h36m_format.file_3dhp(data_dir / EXTRA_DIR))
    bank = camera_frame_poses(positions, TRAIN)
    test = camera_frame_poses(positions, TEST)
    d_test = nearest_p1(test, bank)
    d_dhp = nearest_p1(dhp["pose3d"], bank)
    r_test = nearest_rotation_aligned(test, bank)
    r_dhp = nearest_rotation_aligned(dhp["pose3d"], bank)
    result = {"threshold_mm": threshold, "train_poses": int(len(bank)),
              "h36m_like_S9_S11": summarise(d_test, threshold),
              "dhp_like": summarise(d_dhp, threshold),
              "dhp_like_per_sequence": {
                  f"TS{k}": summarise(d_dhp[dhp["seq_id"] == k], threshold)
                  for k in np.unique(dhp["seq_id"])},
              "rotation_aligned": {"h36m_like_S9_S11": summarise(r_test, threshold),
                                   "dhp_like": summarise(r_dhp, threshold)},
              "detector_error": detector_error(data_dir)}
    result["_distances"] = (d_test, d_dhp)
    return result


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    d_test, d_dhp = result["_distances"]
    bins = np.linspace(0, max(d_dhp.max(), d_test.max()) * 1.02, 60)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(d_test, bins, density=True, alpha=0.6, label="H36M-like test (S9, S11)")
    ax.hist(d_dhp, bins, density=True, alpha=0.6, label="3DHP-like test")
    ax.axvline(result["threshold_mm"], color="k", ls="--", lw=1)
    ax.set_xlabel("distance to nearest training pose, P1 after root alignment (mm)")
    ax.set_ylabel("density")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data/synthetic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", default="default")
    parser.add_argument("--threshold", type=float, default=100.0, help="mm")
    parser.add_argument("--plot", default=None, help="write a histogram PNG here")
    parser.add_argument("--json", default=None, help="write the numbers as JSON here")
    args = parser.parse_args(argv)
    try:
        data_dir = ensure_synthetic_dataset(args.data_dir, args.seed, args.size)
        result = run(Path(data_dir), args.threshold)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t, d = result["h36m_like_S9_S11"], result["dhp_like"]
    print(f"training poses: {result['train_poses']} (camera frame, root-relative)")
    print(f"nearest-training-pose distance > {args.threshold:.0f} mm:")
    print(f"  H36M-like S9/S11 : {100 * t['frac_far']:5.1f} %  (median {t['median_mm']:.0f} mm, "
          f"p90 {t['p90_mm']:.0f} mm, n={t['n']})")
    print(f"  3DHP-like        : {100 * d['frac_far']:5.1f} %  (median {d['median_mm']:.0f} mm, "
          f"p90 {d['p90_mm']:.0f} mm, n={d['n']})")
    for name, s in result["dhp_like_per_sequence"].items():
        print(f"    {name}: {100 * s['frac_far']:5.1f} %  (median {s['median_mm']:.0f} mm, "
              f"n={s['n']})")
    r = result["rotation_aligned"]
    print("after the best rotation about the root (pose only, camera view removed):")
    for name, key in (("H36M-like S9/S11", "h36m_like_S9_S11"), ("3DHP-like       ", "dhp_like")):
        print(f"  {name} : {100 * r[key]['frac_far']:5.1f} %  "
              f"(median {r[key]['median_mm']:.0f} mm)")
    e = result["detector_error"]
    print(f"detector 2D error: mean {e['mean_px']:.2f} px, median {e['median_px']:.2f} px, "
          f"p95 {e['p95_px']:.2f} px")
    if args.plot:
        plot(result, Path(args.plot))
        print(f"figure: {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps({k: v for k, v in result.items()
                                               if not k.startswith("_")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
