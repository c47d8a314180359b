"""Training and evaluation throughput of every lifter, against the machine's matmul rate.

For each lifter (built by ``build_lifter`` from a Namespace, fixed random tensors): training
samples/s of one step (forward, MSE, backward, ``clip_grad_norm_`` 1, Adam), evaluation samples/s
(eval mode, no grad), the achieved GFLOP/s (FLOPs counted by ``FlopCounterMode``) and their share
of the matmul rate. The forms used before the GEMM rewrite are kept in bench/reference_lifters.py
as *reference* implementations (same weights) and timed in the same run, so the ratios need no
other run:

* ``videopose`` (single frame) and the strided TCN as ``Conv1d`` modules (channels first);
* SemGCN with batch-major graph convolutions and batch norm on transposed features;
* the dilated evaluation TCN as one im2col GEMM per layer instead of dilated convolutions.

Also the share of a ``videopose`` step (batch 1024) spent on the data path (random rows of a
PoseSet, root-relative targets, flips). Times are the best of up to ``--repeats`` runs; forms
compared by a ratio are timed in turns, so that a busy spell on a shared machine hits them alike.

    python bench/bench_lifters.py [--device cpu] [--threads 2] [--amp off|bf16]
                                  [--compile False|True] [--quick]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from function_baseline.model_pos_preparation import build_lifter, build_lifter_pair  # noqa: E402
from function_baseline.pose_set import PoseSet  # noqa: E402
from models.lifter_videopose import DilatedTemporalLifter  # noqa: E402
from reference_lifters import GemmDilatedTCN, reference_of  # noqa: E402
from utils.acceleration import AMP_MODES, autocast, maybe_compile  # noqa: E402
from utils.config import str2bool  # noqa: E402
from utils.device import resolve_device  # noqa: E402
from utils.io import DataError, run_command  # noqa: E402
from utils.skeleton import flip_pose, root_relative  # noqa: E402

SINGLE_BATCH, VIDEO_BATCH = 1024, 512
# label -> (Namespace fields, batch); video lifters take (B, prod(widths), 16, 2) windows
LIFTERS = {
    "mlp": ({"posenet_name": "mlp"}, SINGLE_BATCH),
    "gcn": ({"posenet_name": "gcn"}, SINGLE_BATCH),
    "gcn dropout 0": ({"posenet_name": "gcn", "dropout": 0.0}, SINGLE_BATCH),  # PoseAug's recipe
    "videopose": ({"posenet_name": "videopose"}, SINGLE_BATCH),
    "poseformer": ({"posenet_name": "poseformer"}, SINGLE_BATCH),
    "tcn 3,3,3": ({"posenet_name": "mulit_farme_videopose"}, VIDEO_BATCH),      # '3,3,3' default
    "poseformer f27": ({"posenet_name": "mulit_farme_poseformer"}, VIDEO_BATCH),
}
QUICK_BATCH = {"poseformer f27": 128}   # --quick: ~25 s less; samples/s hardly depend on it
TIMED_TOGETHER = (("mlp", "videopose"), ("gcn", "gcn dropout 0"), ("poseformer",),
                  ("tcn 3,3,3",), ("poseformer f27",))
REF, GEMM_EVAL = "  reference: ", "  eval as GEMM: "      # row labels of the extra forms


class Bench:
    """Timing and FLOP counting with the run's device, autocast mode and repeat count."""

    def __init__(self, device: torch.device, amp: str, compile_: bool, repeats: int,
                 budget: float) -> None:
        self.device, self.amp, self.compile = device, amp, compile_
        self.repeats, self.budget = repeats, budget

    def seconds(self, fn: Callable[[], object], warmup: int = 1, repeats: int | None = None) -> float:
        """Best wall time of one call of ``fn``, after ``warmup`` calls: up to ``repeats``
        (default the bench's) timed calls, fewer (at least one) once ``budget`` seconds are spent."""
        for _ in range(warmup):
            fn()
        best, spent, runs = math.inf, 0.0, 0
        while runs < (repeats or self.repeats) and (runs == 0 or spent < self.budget):
            self._sync()
            t0 = time.perf_counter()
            fn()
            self._sync()
            took = time.perf_counter() - t0
            best, spent, runs = min(best, took), spent + took, runs + 1
        return best

    def peak_mib(self) -> float | None:
        """Peak CUDA memory since the last call (MiB), or None off CUDA."""
        if self.device.type != "cuda":
            return None
        peak = torch.cuda.max_memory_allocated(self.device) / 2 ** 20
        torch.cuda.reset_peak_memory_stats(self.device)
        return peak

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def matmul_gflops(self, n: int) -> float:
        """The rate of an (n, n) x (n, n) product (bf16 under --amp bf16)."""
        g = torch.Generator().manual_seed(0)
        a, b = (torch.randn(n, n, generator=g).to(self.device) for _ in range(2))

        def product():
            with autocast(self.device, self.amp):
                for _ in range(4):
                    a @ b
        return 4 * 2 * n ** 3 / self.seconds(product) / 1e9

    def train_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step() -> None:       # sets the mode: a reference form is its own evaluation model
            model.train()
            opt.zero_grad(set_to_none=True)
            with autocast(self.device, self.amp):
                loss = F.mse_loss(model(x).reshape(y.shape), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
        return step

    def eval_call(self, model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
        def call() -> None:
            model.eval()
            with torch.no_grad(), autocast(self.device, self.amp):
                model(x)
        return call

    @staticmethod
    def flops(fn: Callable[[], None]) -> int:
        with FlopCounterMode(display=False) as counter:
            fn()
        return counter.get_total_flops()


def inputs(batch: int, frames: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed (B, [T,] 16, 2) inputs and (B, 16, 3) targets."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn((batch, 16, 2) if frames == 1 else (batch, frames, 16, 2), generator=g)
    return x.to(device), (0.2 * torch.randn(batch, 16, 3, generator=g)).to(device)


def prepare_form(bench: Bench, model: nn.Module | None, eval_model: nn.Module, batch: int,
                 frames: int, eval_x: torch.Tensor | None = None) -> dict:
    """{'train' | 'eval': (call, FLOPs per call)} of one form, compiled if asked and warmed up;
    'peak_mib' the CUDA peak of the warm-up. No 'train' when ``model`` is None.

    Training FLOPs are counted at batch 8 and scaled (they are linear in the batch); the
    evaluation input is the (B, [T,] 16, 2) batch unless ``eval_x`` (a sequence) is given.
    """
    x, y = inputs(batch, frames, bench.device)
    eval_x = x if eval_x is None else eval_x.to(bench.device)
    warm = 2 if bench.compile else 1
    bench.peak_mib()
    flops = bench.flops(bench.eval_call(eval_model.to(bench.device), eval_x))
    call = bench.eval_call(maybe_compile(eval_model, bench.compile, bench.device), eval_x)
    form = {"eval": (call, flops)}
    if model is not None:
        model.to(bench.device)
        flops = bench.flops(bench.train_step(model, *inputs(8, frames, bench.device))) * batch / 8
        step = bench.train_step(maybe_compile(model, bench.compile, bench.device), x, y)
        form["train"] = (step, flops)
    for call, _ in form.values():
        for _ in range(warm):
            call()
    form["peak_mib"] = bench.peak_mib()
    return form


def time_in_turns(bench: Bench, forms: dict) -> dict:
    """Figures of each prepared form, ``forms`` = {row: (form, batch)}: the calls are timed in
    turns (one each per round, up to ``repeats`` rounds or the time budget), so that a busy
    spell hits every form alike."""
    calls = {(row, kind): form[kind] for row, (form, _) in forms.items()
             for kind in ("train", "eval") if kind in form}
    best = dict.fromkeys(calls, math.inf)
    spent, rounds = 0.0, 0
    while rounds < bench.repeats and (rounds == 0 or spent < bench.budget * len(calls)):
        for key, (call, _) in calls.items():
            took = bench.seconds(call, warmup=0, repeats=1)
            best[key], spent = min(best[key], took), spent + took
        rounds += 1
    results = {row: {"batch": b, "peak_mib": form["peak_mib"]} for row, (form, b) in forms.items()}
    for (row, kind), seconds in best.items():
        results[row].update({kind: results[row]["batch"] / seconds, f"{kind}_s": seconds,
                             f"{kind}_gflops": calls[row, kind][1] / seconds / 1e9})
    return results


def data_path_seconds(bench: Bench, rows: int, batch: int) -> float:
    """One batch of the single-frame data path: random rows, root-relative target, flips."""
    g = torch.Generator().manual_seed(2)
    label = torch.zeros(rows, dtype=torch.long)
    data = PoseSet(pose2d=torch.randn(rows, 16, 2, generator=g), pose3d=torch.randn(rows, 16, 3),
                   camera=torch.zeros(rows, 16), action=label, subject=label).to(bench.device)

    def gather() -> None:
        idx = torch.randint(rows, (batch,), generator=g).to(bench.device)
        inputs2d, target = data.pose2d[idx], root_relative(data.pose3d[idx])
        flip_pose(inputs2d), flip_pose(target)
    return bench.seconds(gather, warmup=2)


# ------------------------------------------------------------------------------ report
def lifter_args(fields: dict) -> argparse.Namespace:
    return argparse.Namespace(**{"stages": 4, "dropout": 0.25, "architecture": "3,3,3", **fields})


def lifter_forms(bench: Bench, label: str, batch: int) -> dict:
    """{row label: prepared form} of one lifter: itself, its reference and the GEMM dilated TCN."""
    fields, _ = LIFTERS[label]
    args = lifter_args(fields)
    frames = math.prod(int(w) for w in args.architecture.split(",")) \
        if args.posenet_name.startswith("mulit") else 1
    model, eval_model = build_lifter_pair(args, torch.Generator().manual_seed(0))
    seq = None
    if isinstance(eval_model, DilatedTemporalLifter):      # evaluation runs on a sequence
        seq = inputs(1, batch + frames - 1, torch.device("cpu"))[0]
    forms = {label: prepare_form(bench, model, eval_model, batch, frames, seq)}
    ref = reference_of(build_lifter(args, torch.Generator().manual_seed(0)))
    if ref is not None:
        forms[REF + label] = prepare_form(bench, ref, ref, batch, frames)
    if seq is not None:
        gemm = GemmDilatedTCN(eval_model.filter_widths)
        gemm.load_state_dict(eval_model.state_dict())
        forms[GEMM_EVAL + label] = prepare_form(bench, None, gemm, batch, frames, seq)
    return forms


def measure_all(bench: Bench, quick: bool) -> dict:
    """{row label: figures} of every lifter and its extra forms; lifters compared by a target
    ratio (mlp and videopose) are timed in turns too."""
    results = {}
    for group in TIMED_TOGETHER:
        print(f"measuring {', '.join(group)} ...", file=sys.stderr, flush=True)
        batch = {label: QUICK_BATCH.get(label, LIFTERS[label][1]) if quick else LIFTERS[label][1]
                 for label in group}
        forms = {row: (form, batch[label]) for label in group
                 for row, form in lifter_forms(bench, label, batch[label]).items()}
        results.update(time_in_turns(bench, forms))
    return results


def print_table(results: dict, matmul: float, cuda: bool) -> None:
    def cell(r: dict, key: str, fmt: str, width: int) -> str:
        return f"{format(r[key], fmt):>{width}}" if key in r else f"{'-':>{width}}"

    print(f"{'lifter':<26}{'batch':>6}{'train/s':>9}{'eval/s':>9}{'train GF/s':>11}{'share':>7}"
          f"{'eval GF/s':>10}{'share':>7}" + ("  peak MiB" if cuda else ""))
    for label, r in results.items():
        shares = {k: r[k + "_gflops"] / matmul for k in ("train", "eval") if k in r}
        print(f"{label:<26}{r['batch']:>6}{cell(r, 'train', ',.0f', 9)}{cell(r, 'eval', ',.0f', 9)}"
              f"{cell(r, 'train_gflops', ',.1f', 11)}{cell(shares, 'train', '.0%', 7)}"
              f"{cell(r, 'eval_gflops', ',.1f', 10)}{cell(shares, 'eval', '.0%', 7)}"
              + (cell(r, 'peak_mib', ',.0f', 10) if cuda else ""))
    print("eval/s: the batch in eval mode; the TCN's: its dilated form on one sequence of batch+26 "
          "frames (the reference row's: strided convolutions on the windows)")


def print_ratios(results: dict, matmul: float) -> None:
    def train(label: str) -> float:
        return results[label]["train"]

    tcn = "tcn 3,3,3"
    print("ratios (train samples/s unless stated, this run):")
    print(f"  videopose / mlp             {train('videopose') / train('mlp'):6.2f}   (target >= 0.9)")
    print(f"  gcn now / reference         {train('gcn') / train(REF + 'gcn'):6.2f}   (target >= 3)")
    print(f"    the same at dropout 0     "
          f"{train('gcn dropout 0') / train(REF + 'gcn dropout 0'):6.2f}")
    print(f"  videopose now / reference   {train('videopose') / train(REF + 'videopose'):6.2f}")
    print(f"  strided TCN now / reference {train(tcn) / train(REF + tcn):6.2f}")
    print(f"  strided TCN share of matmul {results[tcn]['train_gflops'] / matmul:6.0%}"
          "   (target >= 30%)")
    print(f"  dilated eval conv / GEMM    "
          f"{results[tcn]['eval'] / results[GEMM_EVAL + tcn]['eval']:6.2f}"
          "   (> 1: the convolution is faster)")


def run(opts: argparse.Namespace) -> None:
    if opts.threads < 1 or opts.repeats < 1:
        raise DataError("--threads and --repeats must be positive")
    device = resolve_device(opts.device)
    torch.set_num_threads(opts.threads)
    bench = Bench(device, opts.amp, opts.compile, opts.repeats, 2.0 if opts.quick else 10.0)
    torch.manual_seed(0)
    matmul_n = 1024 if opts.quick else 2048
    first = bench.matmul_gflops(matmul_n)
    results = measure_all(bench, opts.quick)
    data_s = data_path_seconds(bench, 50_000 if opts.quick else 200_000, SINGLE_BATCH)
    last = bench.matmul_gflops(matmul_n)
    matmul = max(first, last)      # measured before and after: a busy moment must not flatter
    print(f"lifters on {device}, {opts.threads} thread(s), amp {opts.amp}, compile {opts.compile}, "
          f"best of up to {opts.repeats} runs ({bench.budget:g} s budget each); matmul "
          f"({matmul_n}^3): {first:,.1f} GFLOP/s before, {last:,.1f} after, shares use {matmul:,.1f}")
    print_table(results, matmul, device.type == "cuda")
    print_ratios(results, matmul)
    step_s = results["videopose"]["train_s"]
    print(f"data path of a videopose step (batch {SINGLE_BATCH}): {data_s * 1e3:.2f} ms of "
          f"{(data_s + step_s) * 1e3:.1f} ms = {data_s / (data_s + step_s):.1%}   (target < 5%)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--amp", default="off", choices=AMP_MODES)
    p.add_argument("--compile", default=False, type=str2bool, help="True: torch.compile the lifters")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per figure (at most)")
    p.add_argument("--quick", action="store_true",
                   help="2 s instead of 10 s per figure, smaller matmul, PoseFormer f27 at batch 128")
    return run_command(lambda: run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
