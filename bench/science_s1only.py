"""Does DH-AUG help when training data is scarce, at an equal number of pose-net steps?

Single-frame VideoPose3D on the synthetic dataset with ``--s1only True``; every setting runs for
each seed through run_fk_gan.py; the script prints and writes ``<out>/results.md`` (mean ± std over
seeds of H36M-synthetic and 3DHP-synthetic P1/P2/PCK/AUC, and the GAN diagnostics of the last
epoch) and ``<out>/results.json``.

    python bench/science_s1only.py [--seeds 0,1,2] [--train_epochs 8] [--out DIR] [--jobs 2]

Equal compute: GAN and normal train each pose-net epoch on the fake pool, then on the real set.
Their pool is capped to the GAN's natural size (the real set rounded down to whole batches, so
'normal' gets ``--generator_whole_number`` = pool / cameras), hence one augmented epoch is about
two real passes. Every augmented setting trains the pose net for ``--train_epochs`` T epochs and
NO_enhance for 2T epochs (``--epochs 2T``): the same number of optimiser steps (NO_enhance gets
one batch more per two passes when the real set is not a whole number of batches; the table
prints the exact counts), and both LR schedules decay linearly from ``--lr_p`` over the same
steps (per pass for NO_enhance, per pair of passes for the others).

Settings (T = --train_epochs, W = --warmup, P = --gan_pretrain_epochs):
  NO_enhance          plain lifter, 2T epochs.
  normal              random DH angles (no learning), T epochs.
  GAN_faithful        the original: W+1 GAN-only epochs (0..W), then T pose-net epochs whose LR
                      schedule kept stepping through the warm-up (``--epochs T+W+1``), so the
                      lifter starts at lr_p * (T+1)/(T+W+2).
  GAN_fresh_lr        as GAN_faithful, but the LR schedule counts from the first pose-net epoch
                      (starts at lr_p, ends at 2 lr_p/(T+1), as NO_enhance and normal).
  GAN_pretrained      P GAN epochs first (a P-epoch run whose pose net trains in the last epoch
                      only, continued with ``--GAN_resume`` and ``--warmup 0``: one more GAN-only
                      epoch), then T pose-net epochs with the LR schedule counted from the first
                      pose-net epoch.
  GAN_pretrained_faithful_lr  as GAN_pretrained with the original's schedule (``--warmup W``).
"Counted from the first pose-net epoch" uses ``--lr_schedule_from_first_train True`` when
run_fk_gan.py has the flag; until then the same LR sequence is obtained exactly by scaling
``--lr_p`` by (E+1)/(E-W) (E = --epochs): the original's rate at epoch W+1+k is then
lr_p * (1 - k/(E-W)). Likewise ``--gan_pretrain_epochs P`` replaces the pre-training run once it
exists.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from science_common import (REPO, RunResult, RunSpec, add_run_options, cli_flags,  # noqa: E402
                            metric_table, posenet_steps, quality_curve, quality_table,
                            read_quality_history, run_all)

SETTINGS = ("NO_enhance", "normal", "GAN_faithful", "GAN_fresh_lr", "GAN_pretrained",
            "GAN_pretrained_faithful_lr")
DEFAULT_SETTINGS = ("NO_enhance", "normal", "GAN_faithful", "GAN_fresh_lr", "GAN_pretrained")
# GAN setting -> (GAN pre-training, LR schedule counted from the first pose-net epoch)
GAN_SETTINGS = {"GAN_faithful": (False, False), "GAN_fresh_lr": (False, True),
                "GAN_pretrained": (True, True), "GAN_pretrained_faithful_lr": (True, False)}


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="comma list of --random_seed values")
    p.add_argument("--settings", default=",".join(DEFAULT_SETTINGS), help=f"subset of {SETTINGS}")
    p.add_argument("--train_epochs", type=int, default=8, help="T: pose-net epochs of GAN/normal")
    p.add_argument("--warmup", type=int, default=2, help="GAN_faithful's --warmup")
    p.add_argument("--gan_pretrain_epochs", type=int, default=30,
                   help="GAN-only epochs before GAN_pretrained's pose net starts")
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--lr_p", type=float, default=1e-3)
    p.add_argument("--lr_gan", type=float, default=5e-4, help="--lr_g and --lr_d")
    p.add_argument("--width", type=int, default=256, help="generator and critic widths")
    p.add_argument("--stages", type=int, default=4, help="VideoPose blocks (--stages)")
    p.add_argument("--synthetic_size", default="default")
    add_run_options(p, REPO / "checkpoint" / "science_s1only")
    args = p.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.settings = [s for s in args.settings.split(",") if s]
    unknown = set(args.settings) - set(SETTINGS)
    if unknown:
        p.error(f"--settings: unknown {sorted(unknown)}; choose from {SETTINGS}")
    return args


def common_flags(args: argparse.Namespace) -> list[str]:
    """Flags shared by every run (the seed and the method go in each run's own flags)."""
    w = str(args.width)
    return ["--dataset", "synthetic", "--data_dir", args.data_dir, "--synthetic_size",
            args.synthetic_size, "--s1only", "True", "--posenet_name", "videopose", "--stages",
            str(args.stages), "--keypoints", "gt", "--lr_p", str(args.lr_p), "--batch_size",
            str(args.batch_size), "--additional_train_epoch", "0", "--Gen_DenseDim", w,
            "--Dis_DenseDim_3D", w, "--Dis_DenseDim_2D", w, "--lr_g", str(args.lr_gan),
            "--lr_d", str(args.lr_gan), "--record_all_picture", "False", "--snapshot", "0",
            "--device", args.device]


def sizes(args: argparse.Namespace) -> tuple[int, int, int]:
    """(training samples, cameras of the training subjects, fake-pool size)."""
    from function_baseline.data_preparation import load_datasets
    from utils.config import parse_args
    data = load_datasets(parse_args(common_flags(args)), log=lambda _: None)
    n = len(data.train)
    cameras = data.camera_table.shape[0] * data.camera_table.shape[1]
    return n, cameras, n // args.batch_size * args.batch_size


def gan_run(args: argparse.Namespace, name: str, seed: int, pretrain_ckpt: Path | None
            ) -> RunSpec:
    """A GAN setting's run; ``pretrain_ckpt``: the pre-training run to continue (emulated
    pre-training), None for no pre-training or when the loop has --gan_pretrain_epochs."""
    pretrained, fresh_lr = GAN_SETTINGS[name]
    t, flags = args.train_epochs, cli_flags()
    warmup = 0 if pretrained and fresh_lr else args.warmup
    epochs = t + warmup + 1
    run = ["--random_seed", str(seed), "--data_enhancement_method", "GAN", "--warmup",
           str(warmup), "--epochs", str(epochs)]
    if pretrained and pretrain_ckpt is None:
        run += ["--gan_pretrain_epochs", str(args.gan_pretrain_epochs)]
    if pretrain_ckpt is not None:
        run += ["--GAN_resume", str(pretrain_ckpt)]
    if fresh_lr and "--lr_schedule_from_first_train" in flags:
        run += ["--lr_schedule_from_first_train", "True"]
    elif fresh_lr:   # the same LR sequence over the pose-net epochs, exactly
        run += ["--lr_p", repr(args.lr_p * (epochs + 1) / (epochs - warmup))]
    return RunSpec(f"{name}_s{seed}", run)


def pretrain_run(args: argparse.Namespace, seed: int) -> RunSpec:
    """The run whose GAN the pre-trained settings resume: P GAN epochs, the pose net trained in
    the last one only (run_fk_gan.py refuses a run where it never trains); its weights are not
    carried over (--GAN_resume loads the GAN only)."""
    p = args.gan_pretrain_epochs
    if p < 2:
        raise SystemExit("--gan_pretrain_epochs must be >= 2")
    return RunSpec(f"GAN_pretrain_s{seed}", ["--random_seed", str(seed),
                                             "--data_enhancement_method", "GAN", "--epochs",
                                             str(p), "--warmup", str(p - 2)])


def emulate_pretraining(args: argparse.Namespace) -> bool:
    wanted = any(GAN_SETTINGS[s][0] for s in args.settings if s in GAN_SETTINGS)
    return wanted and "--gan_pretrain_epochs" not in cli_flags()


def first_runs(args: argparse.Namespace, seed: int, cameras: int, pool: int) -> list[RunSpec]:
    """The runs of one seed that need no other run (names end in _s<seed>)."""
    t, sfx, seed_flag = args.train_epochs, f"_s{seed}", ["--random_seed", str(seed)]
    runs = []
    if emulate_pretraining(args):
        runs.append(pretrain_run(args, seed))
    for name in args.settings:
        if name == "NO_enhance":
            runs.append(RunSpec(name + sfx, [*seed_flag, "--data_enhancement_method",
                                             "NO_enhance", "--epochs", str(2 * t)]))
        elif name == "normal":
            runs.append(RunSpec(name + sfx, [*seed_flag, "--data_enhancement_method", "normal",
                                             "--epochs", str(t), "--generator_whole_number",
                                             str(max(pool // cameras, 1))]))
        elif not (GAN_SETTINGS[name][0] and emulate_pretraining(args)):
            runs.append(gan_run(args, name, seed, None))
    return runs


def continued_runs(args: argparse.Namespace, seed: int, done: dict[str, RunResult]
                   ) -> list[RunSpec]:
    """The pre-trained GAN settings, continued from this seed's pre-training run."""
    if not emulate_pretraining(args):
        return []
    ckpt = done[f"GAN_pretrain_s{seed}"].run_dir / "ckpt_last.pth.tar"
    return [gan_run(args, name, seed, ckpt) for name in args.settings
            if name in GAN_SETTINGS and GAN_SETTINGS[name][0]]


def pretraining_curve(results: dict[str, RunResult], seed: int) -> list[str]:
    """Section of the report: the diagnostics over the pre-training run of ``seed`` (if any)."""
    pre = results.get(f"GAN_pretrain_s{seed}")
    if pre is None:
        return []
    return [f"## GAN diagnostics during pre-training (seed {seed})",
            quality_curve(read_quality_history(pre.run_dir))]


def main() -> None:
    args = parse()
    out = Path(args.out)
    n, cameras, pool = sizes(args)
    common = common_flags(args)
    runs = [s for seed in args.seeds for s in first_runs(args, seed, cameras, pool)]
    results = run_all(runs, common, out, args.jobs, args.reuse)
    runs = [s for seed in args.seeds for s in continued_runs(args, seed, results)]
    results.update(run_all(runs, common, out, args.jobs, args.reuse))
    rows = {name: [results[f"{name}_s{s}"] for s in args.seeds] for name in args.settings}
    steps = {name: posenet_steps(runs_of[0], n, pool, args.batch_size)
             for name, runs_of in rows.items()}
    header = (f"S1 only, synthetic data ({args.synthetic_size}), VPose 1-frame ({args.stages} "
              f"stages), {n} training samples, fake pool {pool}, batch {args.batch_size}, lr_p "
              f"{args.lr_p}, T = {args.train_epochs} augmented epochs (NO_enhance "
              f"{2 * args.train_epochs}), GAN width {args.width}, GAN lr {args.lr_gan}, warm-up "
              f"{args.warmup}, pre-training {args.gan_pretrain_epochs} epochs; seeds {args.seeds}")
    text = "\n\n".join([
        "# S1-only science run (equal pose-net steps)", header,
        "## Final evaluation (mean ± std over seeds)", metric_table(rows, steps, "final"),
        "## Best 3DHP P1 evaluation (test-set selection, the paper's protocol)",
        metric_table(rows, steps, "best"),
        "## GAN diagnostics, last epoch (mean ± std over seeds)", quality_table(rows),
        *pretraining_curve(results, args.seeds[0])]) + "\n"
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps(
        {name: [{"run_dir": str(r.run_dir), "seconds": r.seconds, "final": r.final,
                 "best": r.best(), "quality": r.quality} for r in runs_of]
         for name, runs_of in rows.items()}, indent=1, sort_keys=True, default=str))
    print(text)
    print(f"written to {out / 'results.md'}")


if __name__ == "__main__":
    main()
