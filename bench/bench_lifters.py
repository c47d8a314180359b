"""Training and evaluation throughput of every lifter, against the machine's matmul rate.

For each lifter (built by ``build_lifter`` from a Namespace, fixed random tensors): training
samples/s of one step (forward, MSE, backward, ``clip_grad_norm_`` 1, Adam), evaluation samples/s
(eval mode, no grad), the achieved GFLOP/s (FLOPs counted by ``FlopCounterMode``) and their share
of the matmul rate. The forms used before the GEMM rewrite are kept below as *reference*
implementations (same weights) and timed in the same run, so the ratios need no other run:

* ``videopose`` (single frame) and the strided TCN as ``Conv1d`` modules (channels first);
* SemGCN with batch-major graph convolutions and batch norm on transposed features;
* the dilated evaluation TCN as one im2col GEMM per layer instead of dilated convolutions.

Also the share of a ``videopose`` training step (batch 1024) spent on the data path: indexing a
PoseSet-sized tensor with random rows, root-relative targets and the left-right flip.
Each time is the best of ``--repeats`` runs (the machine may be shared).

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

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from function_baseline.model_pos_preparation import build_lifter, build_lifter_pair  # noqa: E402
from function_baseline.pose_set import PoseSet  # noqa: E402
from models.lifter_gcn import SemGCNLifter  # noqa: E402
from models.lifter_videopose import (DilatedTemporalLifter, StridedTemporalLifter,  # noqa: E402
                                     VideoPoseLifter)
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
    "videopose": ({"posenet_name": "videopose"}, SINGLE_BATCH),
    "poseformer": ({"posenet_name": "poseformer"}, SINGLE_BATCH),
    "tcn 3,3,3": ({"posenet_name": "mulit_farme_videopose", "architecture": "3,3,3"}, VIDEO_BATCH),
    "poseformer f27": ({"posenet_name": "mulit_farme_poseformer", "architecture": "3,3,3"},
                       VIDEO_BATCH),
}


# ----------------------------------------------------------------------- reference forms
class _ConvTrunk:
    """The TCN as Conv1d modules on (N, C, L) features: the form before the GEMM rewrite."""

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.relu(self.expand_bn(self.expand_conv(h.transpose(1, 2)))))
        for i in range(1, len(self.filter_widths)):
            w = self.filter_widths[i]
            res = h[:, :, w // 2::w]
            h = self.drop(self.relu(self.layers_bn[2 * i - 2](self.layers_conv[2 * i - 2](h))))
            h = res + self.drop(self.relu(self.layers_bn[2 * i - 1](self.layers_conv[2 * i - 1](h))))
        return self.shrink(h).transpose(1, 2)


class ConvStridedTCN(_ConvTrunk, StridedTemporalLifter):
    """Reference strided TCN (convolutions with stride = width)."""


class ConvVideoPose(_ConvTrunk, VideoPoseLifter):
    """Reference single-frame VideoPose (1x1 convolutions on length-1 sequences)."""


class GemmDilatedTCN(DilatedTemporalLifter):
    """Alternative evaluation TCN: each dilated convolution as im2col + one GEMM, (N, L, C)."""

    @staticmethod
    def _conv(h: torch.Tensor, conv: nn.Conv1d, dilation: int) -> torch.Tensor:
        width = conv.weight.shape[2]
        cols = h.unfold(1, (width - 1) * dilation + 1, 1)[..., ::dilation]   # (N, L', C, w)
        return F.linear(cols.reshape(*cols.shape[:2], -1), conv.weight.flatten(1), conv.bias)

    def _layer(self, h, conv, bn, dilation):
        y = self._conv(h, conv, dilation)
        return self.drop(self.relu(bn(y.reshape(-1, y.shape[-1])).reshape(y.shape)))

    def _trunk(self, h: torch.Tensor) -> torch.Tensor:
        h = self._layer(h, self.expand_conv, self.expand_bn, 1)
        for i in range(1, len(self.filter_widths)):
            dilation = math.prod(self.filter_widths[:i])
            pad = (self.filter_widths[i] - 1) * dilation // 2
            res = h[:, pad:h.shape[1] - pad]
            h = self._layer(h, self.layers_conv[2 * i - 2], self.layers_bn[2 * i - 2], dilation)
            h = res + self._layer(h, self.layers_conv[2 * i - 1], self.layers_bn[2 * i - 1], 1)
        return self._conv(h, self.shrink, 1)


class BatchMajorSemGCN(nn.Module):
    """Reference SemGCN forward on (B, J, C) features (the form before the rewrite), sharing
    the parameters of ``model``: per layer a scattered-logit softmax, X W0 and X W1, a batched
    (J, J) mix, and batch norm on transposed (B, C, J) features; act = ReLU, Dropout, ReLU."""

    def __init__(self, model: SemGCNLifter) -> None:
        super().__init__()
        self.model = model

    @staticmethod
    def _gconv(layer, x: torch.Tensor) -> torch.Tensor:
        a = layer.weighting()
        self_weight = a.diagonal()
        out = self_weight.unsqueeze(-1) * torch.matmul(x, layer.W[0])
        return out + torch.matmul(a - torch.diag(self_weight), torch.matmul(x, layer.W[1])) + layer.bias

    def _block(self, block, x: torch.Tensor) -> torch.Tensor:
        x = block.bn(self._gconv(block.gconv, x).transpose(1, 2)).transpose(1, 2)
        if block.dropout is not None:
            x = block.dropout(block.relu(x))
        return block.relu(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self._block(self.model.gconv_input[0], x.reshape(x.shape[0], -1, 2))
        for res in self.model.gconv_layers:
            h = h + self._block(res.gconv2, self._block(res.gconv1, h))
        return self._gconv(self.model.gconv_output, h)


def reference_of(model: nn.Module) -> nn.Module | None:
    """The pre-rewrite form of ``model`` holding the same weights, or None if it has none."""
    if isinstance(model, SemGCNLifter):
        return BatchMajorSemGCN(model)
    if isinstance(model, VideoPoseLifter):
        ref = ConvVideoPose(stages=len(model.filter_widths) - 1,
                            channels=model.expand_conv.out_channels)
    elif isinstance(model, StridedTemporalLifter):
        ref = ConvStridedTCN(model.filter_widths, channels=model.expand_conv.out_channels)
    else:
        return None
    ref.load_state_dict(model.state_dict())
    return ref


# ----------------------------------------------------------------------------- timing
class Bench:
    """Timing and FLOP counting with the run's device, autocast mode and repeat count."""

    def __init__(self, device: torch.device, amp: str, compile_: bool, repeats: int) -> None:
        self.device, self.amp, self.compile, self.repeats = device, amp, compile_, repeats

    def seconds(self, fn: Callable[[], object], warmup: int = 1) -> float:
        """Best wall time of one call of ``fn`` over ``repeats`` calls, after ``warmup`` calls."""
        for _ in range(warmup):
            fn()
        best = math.inf
        for _ in range(self.repeats):
            self._sync()
            t0 = time.perf_counter()
            fn()
            self._sync()
            best = min(best, time.perf_counter() - t0)
        return best

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

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with autocast(self.device, self.amp):
                loss = F.mse_loss(model(x).reshape(y.shape), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
        return step

    def eval_call(self, model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
        def call() -> None:
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
    shape = (batch, 16, 2) if frames == 1 else (batch, frames, 16, 2)
    return (torch.randn(shape, generator=g).to(device),
            (0.2 * torch.randn(batch, 16, 3, generator=g)).to(device))


def measure_lifter(bench: Bench, model: nn.Module | None, eval_model: nn.Module, batch: int,
                   frames: int, eval_x: torch.Tensor | None = None) -> dict:
    """Train (unless ``model`` is None) and eval samples/s and GFLOP/s of one form.

    Training FLOPs are counted at batch 8 and scaled (they are linear in the batch); the
    evaluation input is the (B, [T,] 16, 2) batch unless ``eval_x`` (a sequence) is given.
    """
    x, y = inputs(batch, frames, bench.device)
    eval_x = x if eval_x is None else eval_x.to(bench.device)
    eval_model.to(bench.device).eval()
    eval_flops = bench.flops(bench.eval_call(eval_model, eval_x))
    warm = 2 if bench.compile else 1
    eval_model = maybe_compile(eval_model, bench.compile, bench.device)
    t_eval = bench.seconds(bench.eval_call(eval_model, eval_x), warm)
    out = {"eval": batch / t_eval, "eval_gflops": eval_flops / t_eval / 1e9}
    if model is not None:
        model.to(bench.device).train()
        flops = bench.flops(bench.train_step(model, *inputs(8, frames, bench.device))) * batch / 8
        model = maybe_compile(model, bench.compile, bench.device)
        t_train = bench.seconds(bench.train_step(model, x, y), warm)
        out.update(train=batch / t_train, train_s=t_train, train_gflops=flops / t_train / 1e9)
    return out


def data_path_seconds(bench: Bench, rows: int, batch: int) -> float:
    """One batch of the single-frame data path: random rows, root-relative target, flips."""
    g = torch.Generator().manual_seed(2)
    data = PoseSet(pose2d=torch.randn(rows, 16, 2, generator=g), pose3d=torch.randn(rows, 16, 3),
                   camera=torch.zeros(rows, 16), action=torch.zeros(rows, dtype=torch.long),
                   subject=torch.zeros(rows, dtype=torch.long)).to(bench.device)

    def gather() -> None:
        idx = torch.randint(rows, (batch,), generator=g).to(bench.device)
        inputs2d, target = data.pose2d[idx], root_relative(data.pose3d[idx])
        flip_pose(inputs2d), flip_pose(target)
    return bench.seconds(gather, warmup=2)


# ------------------------------------------------------------------------------ report
def lifter_args(fields: dict) -> argparse.Namespace:
    return argparse.Namespace(**{"stages": 4, "dropout": 0.25, "architecture": "3,3,3", **fields})


def run(opts: argparse.Namespace) -> None:
    if opts.threads < 1 or opts.repeats < 1:
        raise DataError("--threads and --repeats must be positive")
    device = resolve_device(opts.device)
    torch.set_num_threads(opts.threads)
    repeats = 1 if opts.quick else opts.repeats
    bench = Bench(device, opts.amp, opts.compile, repeats)
    torch.manual_seed(0)
    matmul = bench.matmul_gflops(1024 if opts.quick else 2048)
    print(f"lifters on {device}, {opts.threads} thread(s), amp {opts.amp}, compile {opts.compile}, "
          f"best of {repeats}; matmul {matmul:,.1f} GFLOP/s")
    print(f"{'lifter':<26}{'batch':>6}{'train/s':>9}{'eval/s':>9}{'train GF/s':>11}{'share':>7}"
          f"{'eval GF/s':>10}{'share':>7}" + ("  peak MiB" if device.type == "cuda" else ""))
    results = {}

    def report(label: str, batch: int, r: dict) -> None:
        results[label] = r
        peak = ""
        if device.type == "cuda":
            peak = f"{torch.cuda.max_memory_allocated(device) / 2 ** 20:>10,.0f}"
            torch.cuda.reset_peak_memory_stats(device)
        train = (f"{r['train']:>9,.0f}" if "train" in r else f"{'-':>9}")
        eval_ = f"{r['eval']:>9,.0f}"
        train_gf = (f"{r['train_gflops']:>11,.1f}{r['train_gflops'] / matmul:>7.0%}"
                    if "train" in r else f"{'-':>11}{'-':>7}")
        print(f"{label:<26}{batch:>6}{train}{eval_}{train_gf}"
              f"{r['eval_gflops']:>10,.1f}{r['eval_gflops'] / matmul:>7.0%}{peak}", flush=True)

    for label, (fields, batch) in LIFTERS.items():
        args = lifter_args(fields)
        frames = math.prod(int(w) for w in args.architecture.split(",")) \
            if args.posenet_name.startswith("mulit") else 1
        model, eval_model = build_lifter_pair(args, torch.Generator().manual_seed(0))
        seq = None
        if isinstance(eval_model, DilatedTemporalLifter):      # evaluation runs on a sequence
            seq = inputs(1, batch + frames - 1, torch.device("cpu"))[0]
        report(label, batch, measure_lifter(bench, model, eval_model, batch, frames, seq))
        ref = reference_of(build_lifter(args, torch.Generator().manual_seed(0)))
        if ref is not None:
            report(f"  reference: {label}", batch, measure_lifter(bench, ref, ref, batch, frames))
        if seq is not None:
            gemm = GemmDilatedTCN(eval_model.filter_widths)
            gemm.load_state_dict(eval_model.state_dict())
            report(f"  eval as GEMM: {label}", batch,
                   measure_lifter(bench, None, gemm, batch, frames, seq))

    data_s = data_path_seconds(bench, 50_000 if opts.quick else 200_000, SINGLE_BATCH)
    step_s = results["videopose"]["train_s"]
    tcn, ref = "tcn 3,3,3", "  reference: "
    print("ratios (train samples/s, this run):")
    print(f"  videopose / mlp             {results['videopose']['train'] / results['mlp']['train']:6.2f}"
          "   (target >= 0.9)")
    print(f"  gcn now / reference         {results['gcn']['train'] / results[ref + 'gcn']['train']:6.2f}"
          "   (target >= 3)")
    print(f"  videopose now / reference   "
          f"{results['videopose']['train'] / results[ref + 'videopose']['train']:6.2f}")
    print(f"  strided TCN now / reference {results[tcn]['train'] / results[ref + tcn]['train']:6.2f}")
    print(f"  strided TCN share of matmul {results[tcn]['train_gflops'] / matmul:6.0%}"
          "   (target >= 30%)")
    print(f"  dilated eval conv / GEMM    "
          f"{results[tcn]['eval'] / results['  eval as GEMM: ' + tcn]['eval']:6.2f}"
          "   (> 1: the convolution is faster)")
    print(f"data path of a videopose step (batch {SINGLE_BATCH}): {data_s * 1e3:.2f} ms of "
          f"{(data_s + step_s) * 1e3:.1f} ms = {data_s / (data_s + step_s):.1%}   (target < 5%)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--amp", default="off", choices=AMP_MODES)
    p.add_argument("--compile", default=False, type=str2bool, help="True: torch.compile the lifters")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="one timed run each, smaller matmul")
    return run_command(lambda: run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
