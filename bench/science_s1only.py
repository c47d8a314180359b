"""Does DH-AUG help when training data is scarce? Single-frame VideoPose3D on the synthetic dataset
with ``--s1only True``, trained with GAN, normal and NO_enhance for the same number of pose-net
epochs and the same seed; prints H36M-synthetic and 3DHP-synthetic P1/P2/PCK/AUC of each run.

    python bench/science_s1only.py [--posenet_epochs 8] [--gan_epochs 30] [--out DIR]

S1 alone is small (4,800 synthetic samples, 18 GAN iterations per epoch at batch 256), so the GAN
is first trained on its own for ``--gan_epochs`` epochs (a GAN-only run: ``--warmup`` larger than
the run), then the GAN run continues from it with ``--GAN_resume`` and ``--warmup 0`` (epoch 0 is
GAN-only, the pose net trains from epoch 1). The 'normal' method gets as many fake poses per epoch
as the GAN's pool (``--generator_whole_number`` = pool size / 4 cameras).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
S1_SAMPLES = 4800  # synthetic default size: 30 sequences x 40 frames x 4 cameras


def run(name: str, flags: list[str], args: argparse.Namespace) -> dict:
    base = Path(args.out) / name
    cmd = [sys.executable, str(REPO / "run_fk_gan.py"), "--dataset", "synthetic",
           "--data_dir", args.data_dir, "--s1only", "True", "--posenet_name", "videopose",
           "--keypoints", "gt", "--lr_p", str(args.lr_p), "--batch_size", str(args.batch_size),
           "--additional_train_epoch", "0", "--Gen_DenseDim", "256", "--Dis_DenseDim_3D", "256",
           "--Dis_DenseDim_2D", "256", "--lr_g", str(args.lr_gan), "--lr_d", str(args.lr_gan),
           "--random_seed", str(args.seed), "--checkpoint", str(base), "--note", name,
           "--record_all_picture", "False", "--device", args.device, *flags]
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    seconds = time.time() - t0
    run_dir = sorted(base.glob(f"videopose/gt/*_{name}"))[-1]
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    real = [e for e in map(json.loads, lines) if e["tag"] == "_real"]
    return {"real": real, "seconds": seconds, "run_dir": run_dir}


def row(name: str, e: dict) -> str:
    h, d = e["h36m"], e["dhp"]
    return (f"{name:<24s} {e['epoch']:>5d} {h['p1']:8.2f} {h['p2']:8.2f} {d['p1']:8.2f} "
            f"{d['p2']:8.2f} {d['pck']:7.2f} {d['auc']:7.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--posenet_epochs", type=int, default=8)
    p.add_argument("--gan_epochs", type=int, default=30, help="GAN-only pre-training epochs")
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--lr_p", type=float, default=1e-3)
    p.add_argument("--lr_gan", type=float, default=5e-4, help="--lr_g and --lr_d")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data_dir", default="data")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(REPO / "checkpoint" / "science_s1only"))
    args = p.parse_args()
    P = args.posenet_epochs
    pool = S1_SAMPLES // args.batch_size * args.batch_size

    pre = run("GAN_pretrain", ["--data_enhancement_method", "GAN", "--epochs", str(args.gan_epochs),
                               "--warmup", str(args.gan_epochs)], args)
    results = {
        "GAN": run("GAN", ["--data_enhancement_method", "GAN", "--epochs", str(P + 1),
                           "--warmup", "0", "--GAN_resume",
                           str(pre["run_dir"] / "ckpt_last.pth.tar")], args),
        "normal": run("normal", ["--data_enhancement_method", "normal", "--epochs", str(P),
                                 "--generator_whole_number", str(pool // 4)], args),
        "NO_enhance": run("NO_enhance", ["--data_enhancement_method", "NO_enhance",
                                         "--epochs", str(P)], args),
    }
    print(f"\nS1 only, synthetic data, VPose 1-frame, seed {args.seed}, {P} pose-net epochs, "
          f"batch {args.batch_size}, lr_p {args.lr_p}; GAN pre-trained {args.gan_epochs} epochs "
          f"at lr {args.lr_gan}; {pool} fake pairs per epoch for GAN and normal")
    print(f"{'method':<24s} {'epoch':>5s} {'H36M P1':>8s} {'H36M P2':>8s} {'3DHP P1':>8s} "
          f"{'3DHP P2':>8s} {'PCK':>7s} {'AUC':>7s}")
    for method, r in results.items():
        print(row(f"{method} (final)", r["real"][-1]))
        print(row(f"{method} (best 3DHP P1)", min(r["real"], key=lambda e: e["dhp"]["p1"])))
    for method, r in {"GAN_pretrain": pre, **results}.items():
        print(f"{method}: {r['seconds']:.0f} s, {r['run_dir']}")


if __name__ == "__main__":
    main()
