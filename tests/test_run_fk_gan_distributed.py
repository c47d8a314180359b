"""End-to-end distributed training: ``torchrun --standalone --nproc_per_node 2`` with Gloo on the
CPU computes the 1-process training of the same global batch (docs/distributed.md), writes from
rank 0 only, and resumes exactly at the same number of processes after SIGKILL.

In float32 a whole epoch of Adam steps amplifies reduction-order rounding (biases in front of batch
norm have a zero true gradient, so Adam scales their rounding noise up), so the 2-process weights
are compared against the spread that another reduction order alone gives a 1-process run (one
thread instead of two). Exact equality, step by step in float64, is tested in
tests/function_baseline/test_train_distributed.py and tests/function_dhaug/
test_gan_augmenter_distributed.py.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import ENTRY_SCRIPT

TORCHRUN = str(Path(sys.executable).with_name("torchrun"))
MLP = ("--posenet_name", "mlp", "--stages", "1", "--dropout", "0", "--batch_size", "256",
       "--device", "cpu", "--note", "dist", "--additional_train_epoch", "0")
VIDEO = ("--posenet_name", "mulit_farme_videopose", "--single_or_multi_train_mode", "multi",
         "--architecture", "3", "--batch_size", "256", "--downsample", "4", "--device", "cpu",
         "--note", "dist", "--epochs", "2", "--additional_train_epoch", "0", "--warmup", "0",
         "--single_dis_warmup_epoch", "1", "--Gen_DenseDim", "32", "--Dis_DenseDim_3D", "32",
         "--Dis_DenseDim_2D", "32", "--video_Dis_DenseDim_3D", "32", "--video_Dis_DenseDim_2D",
         "32", "--record_all_picture", "False")


def _launch(entry, flags: tuple, base: Path, ranks: int, threads: int = 1,
            resume: Path | None = None) -> Path:
    cmd = entry.command(*flags, "--checkpoint", str(base))
    if resume is not None:
        cmd += ["--resume", str(resume)]
    if ranks > 1:
        cmd = [TORCHRUN, "--standalone", "--nproc_per_node", str(ranks), *cmd[1:]]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run(cmd, cwd=base, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = list(base.glob("*/gt/*_dist*"))
    return run


def _weights(run: Path) -> dict:
    return torch.load(run / "ckpt_last.pth.tar", weights_only=True)["model_pos"]


def _difference(a: dict, b: dict) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item()
               for k in a if a[k].is_floating_point() and a[k].numel())


def _p1(run: Path, entry) -> float:
    return float(entry.rows(run)[-1].split("\t")[2])


@pytest.fixture(scope="module")
def no_enhance_runs(entry, tmp_path_factory) -> dict:
    flags = (*MLP, "--epochs", "1", "--data_enhancement_method", "NO_enhance")
    return {name: _launch(entry, flags, tmp_path_factory.mktemp(name), ranks, threads)
            for name, ranks, threads in (("one", 1, 1), ("one_2threads", 1, 2), ("two", 2, 1))}


def test_two_processes_compute_the_one_process_training(no_enhance_runs, entry):
    one, other_order, two = (_weights(no_enhance_runs[k]) for k in ("one", "one_2threads", "two"))
    spread = _difference(one, other_order)          # what the reduction order alone changes
    assert _difference(one, two) <= 4 * spread + 1e-6
    assert abs(_p1(no_enhance_runs["one"], entry) - _p1(no_enhance_runs["two"], entry)) < 0.5


def test_only_rank_zero_writes(no_enhance_runs):
    one, two = no_enhance_runs["one"], no_enhance_runs["two"]
    names = lambda run: sorted(p.name for p in run.iterdir() if not p.name.startswith("events"))
    assert names(one) == names(two)
    assert len(list(two.glob("events.out.tfevents.*"))) == 1
    assert len(list(two.parent.iterdir())) == 1          # one run folder, made by rank 0


def test_killed_two_process_video_gan_run_resumes_exactly(entry, tmp_path):
    flags = VIDEO
    (tmp_path / "full").mkdir()
    full = _launch(entry, flags, tmp_path / "full", 2)
    base = tmp_path / "killed"
    base.mkdir()
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node", "2",
           *entry.command(*flags, "--checkpoint", str(base))[1:]]
    ckpt = entry.kill_after_first_checkpoint(cmd, base, "*/gt/*_dist/ckpt_last.pth.tar")
    run = _launch(entry, flags, base, 2, resume=ckpt)
    assert entry.rows(run) == entry.rows(full)
    assert _difference(_weights(full), _weights(run)) < 1e-6
