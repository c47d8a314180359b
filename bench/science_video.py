"""Does video DH-AUG help a video lifter, at an equal number of pose-net steps?

``mulit_farme_videopose --architecture 3,3`` (T = 9) on the synthetic dataset, ``GAN`` versus
``NO_enhance``, every setting run for each seed through run_fk_gan.py; the script prints and
writes ``<out>/results.md`` (mean ± std over seeds of H36M-synthetic and 3DHP-synthetic
P1/P2/PCK/AUC at the end of training and at the best 3DHP epoch, the pose-net step counts, the
per-epoch curves of the first seed and the exact commands) and ``<out>/results.json``.

    python bench/science_video.py [--seeds 0,1,2] [--train_epochs 4] [--gan_warmups 20:4]
                                  [--synthetic_size default] [--out DIR] [--jobs 2]

The defaults are the setting of the result in docs/video.md#does-it-help (synthetic set of
40-frame sequences, S1 only, the paper's warm-ups W 20 and S 4; ~35 min with --jobs 2 on 2
cores). On the 'small' set (8-frame sequences, shorter than the 9-frame window) the generator
stays far from real motion and GAN loses; that run is in the same section.

Equal compute (docs/video.md#video-schedule): a video GAN run of ``--epochs E --warmup W
--single_dis_warmup_epoch S`` (no additional epochs) has E+W+S epochs; the GAN trains alone in
epochs 0..W+S and the pose net trains in the other E-1, each on the fake pool (N // B * B windows:
the critic-step fakes of the epoch's whole batches) and then on the N real windows. With
T = ``--train_epochs`` every GAN setting uses E = T+1, so it takes T fake passes and T real
passes, and NO_enhance trains 2T real epochs (``--epochs 2T --warmup 0
--single_dis_warmup_epoch 0``): the same number of optimiser steps, up to one batch per pass pair
when N is not a whole number of batches (the table prints the exact counts; each batch is up to
four Adam steps: plain, time-reversed, mirrored, both). The GAN settings differ only in how many
GAN-only epochs (W+S+1, ``--gan_warmups W:S``, plus P pre-training epochs with ``W:S:DF:P``)
come before the lifter starts, which costs no pose-net steps. Both LR schedules decay linearly
from ``--lr_p`` over their pose-net epochs (GAN: lr_p (1 - k/(T+2)), k = 0..T-1; NO_enhance:
lr_p (1 - e/(2T+1)), e = 0..2T-1).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from science_common import (REPO, RunResult, RunSpec, add_run_options, batches,  # noqa: E402
                            metric_table, posenet_steps, quality_table, run_all)

BASELINE = "NO_enhance"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="comma list of --random_seed values")
    p.add_argument("--train_epochs", type=int, default=4, help="T: pose-net epochs of GAN")
    p.add_argument("--gan_warmups", default="20:4",
                   help="comma list of W:S[:DF[:P]] (--warmup : --single_dis_warmup_epoch, "
                        "optionally : --df and : --gan_pretrain_epochs), one GAN setting each")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--lr_p", type=float, default=1e-3)
    p.add_argument("--lr_gan", type=float, default=5e-4, help="--lr_g and --lr_d")
    p.add_argument("--width", type=int, default=128, help="generator and single-frame critics")
    p.add_argument("--motion_width", type=int, default=128, help="motion critics")
    p.add_argument("--df", type=int, default=5,
                   help="critic iterations per generator step (unless a setting gives its own)")
    p.add_argument("--synthetic_size", default="default")
    p.add_argument("--downsample", type=int, default=1)
    p.add_argument("--s1only", default="True", choices=("True", "False"))
    add_run_options(p, REPO / "checkpoint" / "science_video")
    args = p.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    try:
        settings = [tuple(int(v) for v in item.split(":"))
                    for item in args.gan_warmups.split(",") if item]
        if any(len(x) not in (2, 3, 4) or min(x) < 0 for x in settings):
            raise ValueError
    except ValueError:
        p.error(f"--gan_warmups: expected W:S, W:S:DF or W:S:DF:P items (non-negative integers, "
                f"DF 0 = --df), got {args.gan_warmups!r}")
    args.gan_warmups = [tuple((*x, None, None)[:4]) for x in settings]
    if args.train_epochs < 1:
        p.error("--train_epochs must be >= 1")
    return args


def common_flags(args: argparse.Namespace) -> list[str]:
    """Flags shared by every run: the README video command on synthetic data, narrow GAN."""
    w, m, lr = str(args.width), str(args.motion_width), str(args.lr_gan)
    return ["--dataset", "synthetic", "--data_dir", args.data_dir, "--synthetic_size",
            args.synthetic_size, "--downsample", str(args.downsample), "--s1only", args.s1only,
            "--single_or_multi_train_mode", "multi", "--posenet_name", "mulit_farme_videopose",
            "--architecture", "3,3", "--keypoints", "gt", "--GAN_whether_use_preAngle", "True",
            "--video_over_200mm", "False", "--lr_p", str(args.lr_p), "--batch_size",
            str(args.batch_size), "--additional_train_epoch", "0", "--additional_LR_decay",
            "0.95", "--Gen_DenseDim", w, "--Dis_DenseDim_3D", w, "--Dis_DenseDim_2D", w,
            "--video_Dis_DenseDim_3D", m, "--video_Dis_DenseDim_2D", m, "--lr_g", lr, "--lr_d",
            lr, "--record_all_picture", "False", "--snapshot", "0",
            "--device", args.device]


def sizes(args: argparse.Namespace) -> tuple[int, int, int]:
    """(training windows N, fake-pool size N // B * B, Adam steps per batch)."""
    from function_baseline.data_preparation import load_datasets
    from utils.config import parse_args
    flags = parse_args(common_flags(args))
    n = len(load_datasets(flags, log=lambda _: None).train)
    playback, flip = flags.GAN_video_playback_input, flags.flip_pos_model_input
    variants = 1 + playback + flip + (playback and flip)
    return n, n // args.batch_size * args.batch_size, variants


def gan_name(warmup: int, single_dis: int, df: int | None, pretrain: int | None) -> str:
    return (f"GAN_w{warmup}_s{single_dis}" + (f"_df{df}" if df else "")
            + (f"_p{pretrain}" if pretrain else ""))


def runs_of_seed(args: argparse.Namespace, seed: int) -> list[RunSpec]:
    """NO_enhance (2T real epochs) and one GAN run per W:S[:DF[:P]] (T pose-net epochs each)."""
    t, sfx, seed_flag = args.train_epochs, f"_s{seed}", ["--random_seed", str(seed)]
    runs = [RunSpec(BASELINE + sfx, [*seed_flag, "--data_enhancement_method", BASELINE,
                                     "--epochs", str(2 * t), "--warmup", "0",
                                     "--single_dis_warmup_epoch", "0"])]
    for w, s, df, pretrain in args.gan_warmups:
        runs.append(RunSpec(gan_name(w, s, df, pretrain) + sfx, [
            *seed_flag, "--data_enhancement_method", "GAN", "--epochs", str(t + 1), "--warmup",
            str(w), "--single_dis_warmup_epoch", str(s), "--df", str(df or args.df),
            *(["--gan_pretrain_epochs", str(pretrain)] if pretrain else [])]))
    return runs


def evaluations_of(res: RunResult, tags: tuple[str, ...] = ("_real",)) -> RunResult:
    """``res`` keeping only the metrics.jsonl entries of ``tags`` (the log also holds
    ``_gan_quality`` entries; ``_fake`` evaluations follow the fake pass of the same epoch)."""
    return dataclasses.replace(res, evaluations=[e for e in res.evaluations
                                                 if e.get("tag") in tags])


def curve_table(runs: dict[str, RunResult]) -> str:
    """Markdown table of every ``_real`` evaluation of the given runs: epoch, H36M and 3DHP P1."""
    lines = ["| run | epoch | H36M P1 | 3DHP P1 |", "|---|---|---|---|"]
    for name, res in runs.items():
        for e in res.evaluations:
            if e["tag"] == "_real":
                dhp = f"{e['dhp']['p1']:.2f}" if e.get("dhp") else "–"
                lines.append(f"| {name} | {e['epoch']} | {e['h36m']['p1']:.2f} | {dhp} |")
    return "\n".join(lines)


QUALITY_CURVE = (("precision_mm", "precision (mm)"), ("coverage_100mm", "cov@100 (%)"),
                 ("diversity", "diversity"), ("fake_joint_speed_mm", "fake speed (mm/frame)"),
                 ("real_joint_speed_mm", "real speed (mm/frame)"))


def quality_curves(runs: dict[str, RunResult]) -> str:
    """Markdown table of the GAN diagnostics of every epoch (``_gan_quality`` log entries)."""
    lines = ["| run | epoch | " + " | ".join(c[1] for c in QUALITY_CURVE) + " |",
             "|---|---|" + "---|" * len(QUALITY_CURVE)]
    for name, res in runs.items():
        for e in res.evaluations:
            if e.get("tag") == "_gan_quality":
                q = e["gan_quality"]
                lines.append(f"| {name} | {e['epoch']} | " + " | ".join(
                    f"{q[k]:.2f}" if k in q else "–" for k, _ in QUALITY_CURVE) + " |")
    return "\n".join(lines)


def step_lines(args: argparse.Namespace, n: int, pool: int, variants: int) -> list[str]:
    """How the pose-net steps compare, from the sizes alone (the tables count them from the
    logs)."""
    t, b = args.train_epochs, args.batch_size
    gan, real = t * (pool // b + batches(n, b)), 2 * t * batches(n, b)
    return [f"- N = {n} training windows, fake pool {pool} = {pool // b} batches, real pass "
            f"{batches(n, b)} batches of {b} (a final batch of one is skipped), {variants} Adam "
            f"steps per batch.",
            f"- GAN: {t} × ({pool // b} fake + {batches(n, b)} real) batches = {gan} batches = "
            f"{gan * variants} steps; NO_enhance: {2 * t} × {batches(n, b)} = {real} batches = "
            f"{real * variants} steps."]


def commands(out: Path, names: list[str]) -> list[str]:
    """The exact command of each run (the first line of its log)."""
    return ["```", *[(out / f"{name}.log").read_text().splitlines()[0] for name in names], "```"]


def main() -> None:
    args = parse()
    out = Path(args.out)
    n, pool, variants = sizes(args)
    specs = [s for seed in args.seeds for s in runs_of_seed(args, seed)]
    results = run_all(specs, common_flags(args), out, args.jobs, args.reuse)
    settings = [BASELINE] + [gan_name(*x) for x in args.gan_warmups]
    steps = {name: posenet_steps(evaluations_of(results[f"{name}_s{args.seeds[0]}"],
                                                ("_fake", "_real")), n, pool, args.batch_size,
                                 variants) for name in settings}
    rows = {name: [evaluations_of(results[f"{name}_s{s}"]) for s in args.seeds]
            for name in settings}
    first = {name: runs[0] for name, runs in rows.items()}
    first_all = {name: results[f"{name}_s{args.seeds[0]}"] for name in settings[1:]}
    header = (f"synthetic data ({args.synthetic_size}, --downsample {args.downsample}, --s1only "
              f"{args.s1only}), mulit_farme_videopose '3,3' (T = 9), batch {args.batch_size}, "
              f"lr_p {args.lr_p}, T = {args.train_epochs} GAN pose-net epochs (NO_enhance "
              f"{2 * args.train_epochs}), GAN widths {args.width} / motion critics "
              f"{args.motion_width}, GAN lr {args.lr_gan}, --df {args.df} unless the setting "
              f"names one; seeds {args.seeds}")
    quality = quality_table(rows)
    text = "\n\n".join([
        "# Video science run (equal pose-net steps)", header,
        "## Pose-net steps", "\n".join(step_lines(args, n, pool, variants)),
        "## Final evaluation (mean ± std over seeds)", metric_table(rows, steps, "final"),
        "## Best 3DHP P1 evaluation (test-set selection, the paper's protocol)",
        metric_table(rows, steps, "best"),
        *(["## GAN diagnostics, last epoch", quality] if quality.count("\n") > 1 else []),
        f"## Per-epoch `_real` evaluations (seed {args.seeds[0]})", curve_table(first),
        f"## GAN diagnostics per epoch (seed {args.seeds[0]})", quality_curves(first_all),
        "## Commands", "\n".join(commands(out, [s.name for s in specs]))]) + "\n"
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps(
        {name: [{"run_dir": str(r.run_dir), "seconds": r.seconds, "steps": steps[name],
                 "final": r.final, "best": r.best(), "quality": r.quality} for r in runs]
         for name, runs in rows.items()}, indent=1, sort_keys=True, default=str))
    print(text)
    print(f"written to {out / 'results.md'}")


if __name__ == "__main__":
    main()
