"""DH-AUG training and evaluation entry point (docs/training.md#epoch-loop).

    python3 run_fk_gan.py --dataset synthetic --posenet_name videopose --epochs 3 ...

Every epoch: the augmenter (GAN or 'normal') makes a fresh pool of fake 2D-3D pairs; once the
pose net trains, it learns from the fake pool (evaluated with tag ``_fake``), then from the real
training set (``_real``). ``NO_enhance`` trains the plain lifter. Every epoch ends with an atomic
``ckpt_last.pth.tar`` holding the whole state, so ``--resume`` continues exactly.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from utils.blas_reproducibility import request_reproducible_blas

request_reproducible_blas()    # before torch loads MKL: same seed, same numbers in every run

from function_baseline.data_preparation import load_datasets
from function_baseline.epoch_plan import plan_epoch
from function_baseline.infer_command import infer_checkpoint
from function_baseline.model_pos_preparation import lifter_from_checkpoint
from function_baseline.reporting import format_table
from function_baseline.trainer import Trainer, evaluate_all
from utils.config import parse_args
from utils.device import resolve_device
from utils.io import atomic_write, run_command
from utils.run_folder import interrupt_message
from utils.validate import validate_args


def train(args: argparse.Namespace, progress: dict) -> int:
    """The DH-AUG algorithm: augment, train on fake pairs, train on real data, every epoch."""
    run = Trainer(args)
    progress["run_dir"] = run.run_dir
    try:
        for epoch in range(run.start_epoch, run.total_epochs):
            progress["epoch"] = epoch
            plan = plan_epoch(epoch, args)
            run.begin_epoch(plan)
            fake = run.augment(plan)
            if plan.trains:
                if fake is not None:
                    run.train_pass(fake, plan, "fake")
                    run.evaluate(plan, "_fake")
                run.train_pass(run.real, plan, "real")
                run.evaluate(plan, "_real")
            run.end_epoch(plan)
        return run.finish()
    finally:
        run.ctx.close()


def evaluate_checkpoint(args: argparse.Namespace) -> int:
    """--evaluate: the checkpoint's pose net on every test set; table on stdout, JSON beside it."""
    device = resolve_device(args.device, args.gpu_id)
    model, flags, state = lifter_from_checkpoint(args.evaluate, args, device)
    vars(args).update(vars(flags))      # the architecture the checkpoint was trained with
    res = evaluate_all(model, load_datasets(args).to(device), args)
    print(f"checkpoint {args.evaluate} (epoch {state.get('epoch', '?')})")
    print(format_table(res))
    out = Path(args.evaluate)
    out = out.with_name(out.name.split(".")[0] + ".eval.json")
    text = json.dumps({"checkpoint": str(args.evaluate), "epoch": state.get("epoch"), **res},
                      indent=2, sort_keys=True)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text))
    print(f"metrics written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    progress = {"epoch": None, "run_dir": None}      # where a Ctrl-C finds the run

    def body() -> int:
        validate_args(args)
        if args.infer:
            return infer_checkpoint(args)
        if args.evaluate:
            return evaluate_checkpoint(args)
        return train(args, progress)

    return run_command(body, on_interrupt=lambda: interrupt_message(
        argv, progress["epoch"], progress["run_dir"]))


if __name__ == "__main__":
    sys.exit(main())
