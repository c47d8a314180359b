"""Video-mode costs on the synthetic dataset (size 'default', built in a temporary folder unless
``--data-dir`` names one): one function per measurement, each printing its figures.

* ``measure_peak_memory``: peak resident memory (VmHWM) of a process that loads the training set
  and gathers every batch of one epoch, single-frame versus windows of T frames (default 243),
  each in a fresh interpreter; also what an (N, T, 16, 2) copy would have cost.
* ``measure_lifter_epoch``: windows/s of a video pose-net epoch (``mulit_farme_videopose``, the
  four step variants of the README command, batch 512) at T = 9 and 27, and the share of the
  step spent gathering windows (target < 10 %).
* ``measure_gan_epoch``: windows/s of one ``VideoGANAugmenter.run_epoch`` (motion critics on,
  batch 512) at the paper's widths (1000) and narrow ones (256), split by phase with timers put
  around the augmenter's pieces from outside (exclusive times: a phase nested in another counts
  only once), and its cost relative to the lifter epoch at the same T (target <= 2).
* ``measure_video_evaluation``: frames/s of the video evaluation on the H36M and 3DHP test sets.

    python bench/bench_video.py [--data-dir DIR] [--frames 9 27] [--batch 512] [--windows 2048]
                                [--gan-widths 1000 256] [--gan-iterations N]
                                [--memory-frames 243] [--threads 2]
                                [--device cpu] [--quick]

``--quick`` (< 2 minutes on 2 cores): the 'small' synthetic set, batch 128, 256 lifter windows,
one timed GAN iteration at width 256 (extrapolated to an epoch), memory at T = 81.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from function_baseline.data_preparation import load_datasets  # noqa: E402
from utils.config import parse_args  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from gan_phases import GAN_PHASES, PhaseTimer, count_flops, sync, timed_augmenter  # noqa: E402

TCN_ARCHITECTURES = {9: "3,3", 27: "3,3,3", 81: "3,3,3,3", 243: "3,3,3,3,3"}


def data_args(data_dir: Path, batch: int = 512, size: str = "default",
              extra: tuple[str, ...] = ()) -> argparse.Namespace:
    """Flags of the README video command that matter here, on the synthetic dataset."""
    return parse_args(["--dataset", "synthetic", "--data_dir", str(data_dir), "--batch_size",
                       str(batch), "--lr_p", "1e-3", "--synthetic_size", size, *extra])


def video_gan_args(data_dir: Path, frames: int, width: int, batch: int = 512,
                   size: str = "default") -> argparse.Namespace:
    """The README video command's GAN flags at T = ``frames``, every network ``width`` wide."""
    w = str(width)
    return data_args(data_dir, batch, size, (
        "--single_or_multi_train_mode", "multi", "--posenet_name", "mulit_farme_videopose",
        "--architecture", TCN_ARCHITECTURES[frames], "--GAN_whether_use_preAngle", "True",
        "--data_enhancement_method", "GAN", "--Gen_DenseDim", w, "--Dis_DenseDim_3D", w,
        "--Dis_DenseDim_2D", w, "--video_Dis_DenseDim_3D", w, "--video_Dis_DenseDim_2D", w))


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_child(data_dir: Path, frames: int, batch: int, size: str = "default") -> dict:
    """(In a fresh process) load the set, gather one epoch of batches; report memory in MiB."""
    from function_baseline.pose_set import batch_indices
    from function_baseline.video_data import frame_source, video_source
    base = _vm_kib("VmRSS")
    data = load_datasets(data_args(data_dir, batch, size), log=lambda _msg: None)
    loaded = _vm_kib("VmHWM")
    source = frame_source(data.train) if frames == 1 else video_source(data.train, frames)
    for idx in batch_indices(len(source), batch, torch.Generator().manual_seed(0)):
        source.batch(idx)
    return {"frames": frames, "samples": len(source), "after_imports_mib": base / 1024,
            "peak_after_loading_mib": loaded / 1024, "peak_mib": _vm_kib("VmHWM") / 1024}


def measure_peak_memory(data_dir: Path, frames: int = 243, batch: int = 512,
                        size: str = "default") -> dict:
    """VmHWM of loading + one epoch of gathering, single frame vs T = ``frames``."""
    results = {}
    for t in (1, frames):
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(t), "--data-dir",
                              str(data_dir), "--batch", str(batch), "--synthetic-size", size],
                             check=True, capture_output=True, text=True)
        results[t] = json.loads(out.stdout.strip().splitlines()[-1])
    single, video = results[1], results[frames]
    copy_mib = video["samples"] * frames * 16 * 2 * 4 / 2 ** 20
    print(f"peak resident memory, {single['samples']} training frames, batch {batch} "
          f"(interpreter + torch alone: {single['after_imports_mib']:.0f} MiB):")
    print(f"  single frame      {single['peak_mib']:8.0f} MiB")
    print(f"  windows T={frames:<4d}  {video['peak_mib']:8.0f} MiB  "
          f"(+{video['peak_mib'] - single['peak_mib']:.0f} MiB; an (N, T, 16, 2) float32 copy "
          f"would add {copy_mib:.0f} MiB)")
    return {"single_mib": single["peak_mib"], "video_mib": video["peak_mib"],
            "materialised_copy_mib": copy_mib, "frames": frames}


def measure_lifter_epoch(data_dir: Path, frames: int, batch: int = 512, windows: int = 2048,
                         device: torch.device = torch.device("cpu"),
                         posenet: str = "mulit_farme_videopose", size: str = "default") -> dict:
    """Windows/s of one video pose-net pass over the first ``windows`` training rows (all four
    step variants), and the share of the pass spent in ``BatchSource.batch`` (window gathering)."""
    from function_baseline.model_pos_preparation import build_lifter
    from function_baseline.train import train_epoch
    from function_baseline.video_data import video_source
    args = data_args(data_dir, batch, size)
    args.posenet_name, args.architecture = posenet, TCN_ARCHITECTURES[frames]
    data = load_datasets(args, log=lambda _msg: None)
    train = data.train.index(torch.arange(min(windows, len(data.train))))
    source = video_source(train, frames).to(device)
    model = build_lifter(args, torch.Generator().manual_seed(0)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr_p)
    warm = video_source(train.index(torch.arange(batch)), frames).to(device)
    train_epoch(model, opt, warm, args, torch.Generator().manual_seed(1), desc="warm-up")
    gather = [0.0]
    plain_batch = source.batch

    def timed_batch(idx):
        sync(device)
        start = time.perf_counter()
        out = plain_batch(idx)
        sync(device)
        gather[0] += time.perf_counter() - start
        return out

    source.batch = timed_batch
    sync(device)
    start = time.perf_counter()
    train_epoch(model, opt, source, args, torch.Generator().manual_seed(0), desc=f"T={frames}")
    sync(device)
    total = time.perf_counter() - start
    share = 100 * gather[0] / total
    flops = count_flops(lambda: train_epoch(model, opt, warm, args,
                                            torch.Generator().manual_seed(2), desc="FLOPs")) / batch
    rate = len(source) / total
    print(f"lifter epoch {posenet} T={frames} ({args.architecture}), batch {batch}, 4 steps per "
          f"batch: {len(source)} windows in {total:.2f} s = {rate:,.0f} windows/s; "
          f"window gathering {gather[0] * 1000:.1f} ms = {share:.2f} % of the pass; "
          f"{flops / 1e6:,.1f} MFLOP per window, {flops * rate / 1e9:,.1f} GFLOP/s")
    return {"frames": frames, "windows": len(source), "seconds": total, "windows_per_s": rate,
            "gather_share_percent": share, "flops_per_window": flops}


def measure_gan_epoch(data_dir: Path, frames: int, width: int, batch: int = 512,
                      iterations: int | None = None, device: torch.device = torch.device("cpu"),
                      size: str = "default", lifter: dict | None = None) -> dict:
    """Windows/s of a video GAN epoch (``VideoGANAugmenter.run_epoch`` with the motion critics
    on) timed over the first ``iterations`` batches of the training set (default ``--df``: one
    generator step per ``--df`` critic iterations, as in a whole epoch). With another count the
    iteration counter starts where the timed batches hold a generator step, and the epoch rate is
    extrapolated to one generator step per ``--df`` iterations. Prints the split by phase, the
    FLOPs per window (one counted iteration without and one with a generator step, weighted
    1 : 1/df) and, given ``measure_lifter_epoch``'s figures at the same T, GAN / lifter time and
    arithmetic per window, against one lifter pass and against the two passes (fake pool, then
    real windows) a GAN run's pose net makes per epoch."""
    from function_baseline.video_windows import VideoWindows
    from function_dhaug.video_gan_augmenter import VideoGANAugmenter
    args = video_gan_args(data_dir, frames, width, batch, size)
    data = load_datasets(args, log=lambda _msg: None)
    iters = iterations or args.df
    if iters * batch > len(data.train):
        raise SystemExit(f"the GAN epoch needs {iters * batch} training rows, the set has "
                         f"{len(data.train)}")

    def augmenter(steps: int, rows: int = batch) -> VideoGANAugmenter:
        run = argparse.Namespace(**{**vars(args), "batch_size": rows})
        train = data.train.index(torch.arange(steps * rows))
        aug = VideoGANAugmenter(run, train, VideoWindows(train.sequence, frames),
                                data.templates, data.camera_table, device,
                                torch.Generator().manual_seed(0), progress=False)
        aug.global_iter = -steps % args.df        # the last timed iteration steps the generator
        return aug

    epoch = args.single_dis_warmup_epoch                   # the motion critics train from here
    augmenter(1, min(batch, 64)).run_epoch(epoch)          # warm-up: one small iteration + G step
    aug = augmenter(iters)
    with timed_augmenter(aug, PhaseTimer(device)) as timer:
        sync(device)
        start = time.perf_counter()
        pool = aug.run_epoch(epoch)
        sync(device)
        total = time.perf_counter() - start
    n, g_steps = iters * batch, timer.calls.get(GAN_PHASES[2], 0)
    g_time = timer.inclusive.get(GAN_PHASES[2], 0.0)
    diagnostics = timer.inclusive.get(GAN_PHASES[7], 0.0)     # once per epoch, not per batch
    per_iteration = ((total - g_time - diagnostics) / iters
                     + (g_time / g_steps / args.df if g_steps else 0.0))
    rate = batch / per_iteration
    calls = len(aug.epoch_calls(epoch))
    print(f"video GAN epoch T={frames}, widths {width}, batch {batch}, {calls} critic calls per "
          f"iteration, generator every {args.df}: {n} windows ({iters} iterations, {g_steps} "
          f"generator step(s), pool {len(pool)}) in {total:.2f} s; epoch rate {rate:,.1f} "
          f"windows/s without the end-of-epoch diagnostics"
          + ("" if iters % args.df == 0 else f", extrapolated to 1 G step per {args.df}"))
    split = {name: timer.seconds.get(name, 0.0) for name in GAN_PHASES}
    split["other (order, statistics, pool, loop)"] = total - sum(split.values())
    for name, seconds in split.items():
        print(f"  {name:<40s} {seconds:8.2f} s  {100 * seconds / total:5.1f} %")

    def counted(generator_step: bool) -> int:
        """FLOPs of one iteration, with or without the generator step (df > 1)."""
        one = augmenter(1)
        if not generator_step:
            one.global_iter = 0
        one._measure_quality = lambda *_a, **_k: {}    # diagnostics are not training arithmetic
        return count_flops(lambda: one.run_epoch(epoch))

    with_g = counted(True)
    critic_flops = counted(False) if args.df > 1 else with_g   # df 1: every iteration steps G
    gen_flops = with_g - critic_flops
    flops = (critic_flops + gen_flops / args.df) / batch
    print(f"  arithmetic: {flops / 1e6:,.1f} MFLOP per window (critics "
          f"{critic_flops / batch / 1e6:,.1f}, generator step {gen_flops / batch / 1e6:,.1f} "
          f"every {args.df}), "
          f"{flops * rate / 1e9:,.1f} GFLOP/s")
    out = {"frames": frames, "width": width, "windows": n, "seconds": total,
           "windows_per_s": rate, "phases_s": split, "flops_per_window": flops}
    if lifter:
        time_ratio = lifter["windows_per_s"] / rate
        flop_ratio = flops / lifter["flops_per_window"]
        out.update(ratio_to_lifter=time_ratio, flop_ratio_to_lifter=flop_ratio)
        print(f"  GAN epoch / lifter epoch (T={frames}, per window): time {time_ratio:.2f} x one "
              f"pass, {time_ratio / 2:.2f} x the fake + real passes (target <= 2); arithmetic "
              f"{flop_ratio:.2f} x one pass, {flop_ratio / 2:.2f} x two")
    return out


def measure_video_evaluation(data_dir: Path, frames: int,
                             device: torch.device = torch.device("cpu"),
                             posenet: str = "mulit_farme_videopose", size: str = "default") -> dict:
    """Frames/s of the video evaluation (H36M test set without TTA, 3DHP with flip TTA) of an
    untrained evaluation copy: whole padded sequences for the TCN, ordered windows otherwise."""
    from function_baseline.evaluate import evaluate_3dhp, evaluate_h36m
    from function_baseline.model_pos_preparation import build_lifter_pair
    args = data_args(data_dir, size=size)
    args.posenet_name, args.architecture = posenet, TCN_ARCHITECTURES[frames]
    data = load_datasets(args, log=lambda _msg: None)
    _, model = build_lifter_pair(args, torch.Generator().manual_seed(0))
    model = model.to(device)
    out = {}
    for name, fn, test in (("H36M", evaluate_h36m, data.test_h36m),
                           ("3DHP", evaluate_3dhp, data.test_3dhp)):
        if test is None:
            continue
        test = test.to(device)
        sync(device)
        start = time.perf_counter()
        fn(model, test, frames=frames)
        sync(device)
        seconds = time.perf_counter() - start
        out[name] = len(test) / seconds
        print(f"evaluation {posenet} T={frames} on {name} ({len(test)} frames): {seconds:.2f} s "
              f"= {out[name]:,.0f} frames/s")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder holding (or receiving) synthetic/; default: a temporary folder")
    p.add_argument("--frames", type=int, nargs="+", default=[9, 27], choices=(9, 27, 81))
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--windows", type=int, default=2048, help="training rows per timed epoch")
    p.add_argument("--gan-widths", type=int, nargs="+", default=[1000, 256],
                   help="generator and critic widths of the timed GAN epochs")
    p.add_argument("--gan-iterations", type=int, default=None,
                   help="timed GAN iterations (batches); default --df (one generator step)")
    p.add_argument("--memory-frames", type=int, default=243)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--posenet", default="mulit_farme_videopose",
                   choices=("mulit_farme_videopose", "mulit_farme_poseformer"))
    p.add_argument("--synthetic-size", default="default", help="small, default, large or frames")
    p.add_argument("--quick", action="store_true",
                   help="< 2 minutes on 2 cores: small set, batch 128, 256 lifter windows, one "
                        "GAN iteration of width 256, memory at T=81")
    p.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.memory_child is not None:
        print(json.dumps(memory_child(opts.data_dir, opts.memory_child, opts.batch,
                                      opts.synthetic_size)))
        return
    if opts.quick:
        opts.synthetic_size, opts.batch, opts.windows, opts.gan_widths = "small", 128, 256, [256]
        opts.gan_iterations, opts.memory_frames = 1, 81
    torch.set_num_threads(opts.threads)
    device, size = torch.device(opts.device), opts.synthetic_size
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = opts.data_dir or Path(tmp)
        load_datasets(data_args(data_dir, size=size), log=print)  # build the dataset once, up front
        measure_peak_memory(data_dir, opts.memory_frames, opts.batch, size)
        lifter = {frames: measure_lifter_epoch(data_dir, frames, opts.batch, opts.windows,
                                               device, opts.posenet, size)
                  for frames in opts.frames}
        for frames in opts.frames:
            for width in opts.gan_widths:
                measure_gan_epoch(data_dir, frames, width, opts.batch, opts.gan_iterations,
                                  device, size, lifter[frames])
        for frames in opts.frames:
            measure_video_evaluation(data_dir, frames, device, opts.posenet, size)


if __name__ == "__main__":
    main()
