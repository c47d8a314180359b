"""Does DH-AUG help when training data is scarce? Train single-frame VideoPose3D on the synthetic
dataset with ``--s1only True`` three times (GAN, normal, NO_enhance) at equal epochs and seed, and
print H36M-synthetic and 3DHP-synthetic P1/P2/PCK/AUC of each run's final and best epochs.

    python bench/science_s1only.py [--epochs 6] [--warmup 0] [--seed 0] [--out checkpoint/science]

Every method gets the same ``--epochs`` and seed. In GAN mode the pose net trains from epoch
``warmup + 1`` (FACTS §8), so with ``--warmup 0`` it trains one epoch fewer than the others.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(method: str, epochs: int, args: argparse.Namespace) -> dict:
    base = Path(args.out) / method
    cmd = [sys.executable, str(REPO / "run_fk_gan.py"), "--dataset", "synthetic",
           "--data_dir", args.data_dir, "--s1only", "True", "--posenet_name", "videopose",
           "--keypoints", "gt", "--lr_p", str(args.lr_p), "--batch_size", "1024",
           "--epochs", str(epochs), "--additional_train_epoch", "0", "--warmup", str(args.warmup),
           "--data_enhancement_method", method, "--Gen_DenseDim", "256", "--Dis_DenseDim_3D", "256",
           "--Dis_DenseDim_2D", "256", "--random_seed", str(args.seed), "--checkpoint", str(base),
           "--note", method, "--record_all_picture", "False", "--device", args.device]
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    seconds = time.time() - t0
    (run_dir,) = sorted(base.glob(f"videopose/gt/*_{method}"))[-1:]
    entries = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    real = [e for e in entries if e["tag"] == "_real"]
    best = min(real, key=lambda e: e["dhp"]["p1"])
    return {"final": real[-1], "best": best, "seconds": seconds, "run_dir": str(run_dir)}


def row(name: str, e: dict) -> str:
    h, d = e["h36m"], e["dhp"]
    return (f"{name:<22s} {e['epoch']:>5d} {h['p1']:8.2f} {h['p2']:8.2f} {d['p1']:8.2f} "
            f"{d['p2']:8.2f} {d['pck']:7.2f} {d['auc']:7.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=6, help="GAN-mode epochs (warm-up included)")
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--lr_p", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data_dir", default="data")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(REPO / "checkpoint" / "science_s1only"))
    args = p.parse_args()
    results = {m: run(m, args.epochs, args) for m in ("GAN", "normal", "NO_enhance")}
    print(f"\nS1 only, synthetic data, VPose 1-frame, seed {args.seed}, --epochs {args.epochs}, "
          f"GAN --warmup {args.warmup}")
    print(f"{'method':<22s} {'epoch':>5s} {'H36M P1':>8s} {'H36M P2':>8s} {'3DHP P1':>8s} "
          f"{'3DHP P2':>8s} {'PCK':>7s} {'AUC':>7s}")
    for method, r in results.items():
        print(row(f"{method} (final)", r["final"]))
        print(row(f"{method} (best 3DHP)", r["best"]))
    for method, r in results.items():
        print(f"{method}: {r['seconds']:.0f} s, {r['run_dir']}")


if __name__ == "__main__":
    main()
