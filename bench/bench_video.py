"""Video-mode costs on the synthetic dataset (size 'default', built in a temporary folder unless
``--data-dir`` names one): one function per measurement, each printing its figures.

* ``measure_peak_memory``: peak resident memory (VmHWM) of a process that loads the training set
  and gathers every batch of one epoch, single-frame versus windows of T frames (default 243),
  each in a fresh interpreter; also what an (N, T, 16, 2) copy would have cost.
* ``measure_lifter_epoch``: windows/s of a video pose-net epoch (``mulit_farme_videopose``, the
  four step variants of the README command, batch 512) at T = 9 and 27, and the share of the
  step spent gathering windows (target < 10 %).
* ``measure_video_evaluation``: frames/s of the video evaluation on the H36M and 3DHP test sets.

    python bench/bench_video.py [--data-dir DIR] [--frames 9 27] [--batch 512] [--windows 2048]
                                [--memory-frames 243] [--threads 2] [--device cpu]
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

TCN_ARCHITECTURES = {9: "3,3", 27: "3,3,3", 81: "3,3,3,3", 243: "3,3,3,3,3"}


def data_args(data_dir: Path, batch: int = 512) -> argparse.Namespace:
    """Flags of the README video command that matter here, on the synthetic dataset."""
    return parse_args(["--dataset", "synthetic", "--data_dir", str(data_dir), "--batch_size",
                       str(batch), "--lr_p", "1e-3", "--synthetic_size", "default"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory_child(data_dir: Path, frames: int, batch: int) -> dict:
    """(In a fresh process) load the set, gather one epoch of batches; report memory in MiB."""
    from function_baseline.pose_set import batch_indices
    from function_baseline.video_data import frame_source, video_source
    base = _vm_kib("VmRSS")
    data = load_datasets(data_args(data_dir, batch), log=lambda _msg: None)
    loaded = _vm_kib("VmHWM")
    source = frame_source(data.train) if frames == 1 else video_source(data.train, frames)
    for idx in batch_indices(len(source), batch, torch.Generator().manual_seed(0)):
        source.batch(idx)
    return {"frames": frames, "samples": len(source), "after_imports_mib": base / 1024,
            "peak_after_loading_mib": loaded / 1024, "peak_mib": _vm_kib("VmHWM") / 1024}


def measure_peak_memory(data_dir: Path, frames: int = 243, batch: int = 512) -> dict:
    """VmHWM of loading + one epoch of gathering, single frame vs T = ``frames``."""
    results = {}
    for t in (1, frames):
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(t), "--data-dir",
                              str(data_dir), "--batch", str(batch)],
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
                         posenet: str = "mulit_farme_videopose") -> dict:
    """Windows/s of one video pose-net pass over the first ``windows`` training rows (all four
    step variants), and the share of the pass spent in ``BatchSource.batch`` (window gathering)."""
    from function_baseline.model_pos_preparation import build_lifter
    from function_baseline.train import train_epoch
    from function_baseline.video_data import video_source
    args = data_args(data_dir, batch)
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
        _sync(device)
        start = time.perf_counter()
        out = plain_batch(idx)
        _sync(device)
        gather[0] += time.perf_counter() - start
        return out

    source.batch = timed_batch
    _sync(device)
    start = time.perf_counter()
    train_epoch(model, opt, source, args, torch.Generator().manual_seed(0), desc=f"T={frames}")
    _sync(device)
    total = time.perf_counter() - start
    share = 100 * gather[0] / total
    print(f"lifter epoch {posenet} T={frames} ({args.architecture}), batch {batch}, 4 steps per "
          f"batch: {len(source)} windows in {total:.2f} s = {len(source) / total:,.0f} windows/s; "
          f"window gathering {gather[0] * 1000:.1f} ms = {share:.2f} % of the pass")
    return {"frames": frames, "windows": len(source), "seconds": total,
            "windows_per_s": len(source) / total, "gather_share_percent": share}


def measure_video_evaluation(data_dir: Path, frames: int,
                             device: torch.device = torch.device("cpu"),
                             posenet: str = "mulit_farme_videopose") -> dict:
    """Frames/s of the video evaluation (H36M test set without TTA, 3DHP with flip TTA) of an
    untrained evaluation copy: whole padded sequences for the TCN, ordered windows otherwise."""
    from function_baseline.evaluate import evaluate_3dhp, evaluate_h36m
    from function_baseline.model_pos_preparation import build_lifter_pair
    args = data_args(data_dir)
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
        _sync(device)
        start = time.perf_counter()
        fn(model, test, frames=frames)
        _sync(device)
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
    p.add_argument("--memory-frames", type=int, default=243)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--posenet", default="mulit_farme_videopose",
                   choices=("mulit_farme_videopose", "mulit_farme_poseformer"))
    p.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.memory_child is not None:
        print(json.dumps(memory_child(opts.data_dir, opts.memory_child, opts.batch)))
        return
    torch.set_num_threads(opts.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = opts.data_dir or Path(tmp)
        load_datasets(data_args(data_dir), log=print)      # build the dataset once, up front
        measure_peak_memory(data_dir, opts.memory_frames, opts.batch)
        for frames in opts.frames:
            measure_lifter_epoch(data_dir, frames, opts.batch, opts.windows,
                                 torch.device(opts.device), opts.posenet)
        for frames in opts.frames:
            measure_video_evaluation(data_dir, frames, torch.device(opts.device), opts.posenet)


if __name__ == "__main__":
    main()
