"""Throughput of the DH forward kinematics: forward and forward+backward poses/s.

Default: CPU, float32, 2 threads, batch 1024 and 8192, fast FK and the literal 4x4 reference.
Each figure is the best of ``--repeats`` timed runs of ``--iters`` calls (the machine is
shared, so the best run is the least disturbed one).

    python bench/bench_fk.py [--batches 1024 8192] [--threads 2] [--device cpu] [--dtype float32]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from models import dh_kinematics  # noqa: E402
from utils.device import resolve_device  # noqa: E402
from utils.io import DataError, run_command  # noqa: E402


def _inputs(batch: int, device: torch.device, dtype: torch.dtype, grad: bool,
            generator: torch.Generator) -> list[torch.Tensor]:
    shapes_scales = (((batch, 33), 360.0, -180.0), ((batch, 15), 0.4, 0.1),
                     ((batch, 3), 360.0, -180.0), ((batch, 3), 2.0, -1.0))
    out = []
    for shape, scale, shift in shapes_scales:
        x = torch.rand(shape, generator=generator, dtype=dtype) * scale + shift
        out.append(x.to(device).requires_grad_(grad))
    return out


def measure(fk, batch: int, backward: bool, device: torch.device, dtype: torch.dtype,
            iters: int, repeats: int) -> float:
    """Best poses/s over ``repeats`` runs of ``iters`` calls."""
    inputs = _inputs(batch, device, dtype, backward, torch.Generator().manual_seed(0))

    def step() -> None:
        out = fk(*inputs)
        if backward:
            out.sum().backward()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        sync()
        best = min(best, (time.perf_counter() - t0) / iters)
    return batch / best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, nargs="+", default=[1024, 8192])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-reference", action="store_true", help="skip the slow 4x4 reference")
    args = p.parse_args(argv)
    return run_command(lambda: run(args))


def run(args: argparse.Namespace) -> None:
    if min(args.batches) < 1 or args.threads < 1 or args.iters < 1 or args.repeats < 1:
        raise DataError("--batches, --threads, --iters and --repeats must be positive")
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    impls = [("fast", dh_kinematics.forward_kinematics)]
    if not args.no_reference:
        impls.append(("reference 4x4", dh_kinematics.forward_kinematics_reference))
    print(f"DH forward kinematics, {device}, {args.dtype}, {args.threads} thread(s), "
          f"best of {args.repeats} x {args.iters} calls")
    print(f"{'implementation':<15}{'batch':>7}{'forward poses/s':>18}{'fwd+bwd poses/s':>18}")
    for name, fk in impls:
        for batch in args.batches:
            fwd = measure(fk, batch, False, device, dtype, args.iters, args.repeats)
            both = measure(fk, batch, True, device, dtype, args.iters, args.repeats)
            print(f"{name:<15}{batch:>7}{fwd:>18,.0f}{both:>18,.0f}")


if __name__ == "__main__":
    sys.exit(main())
