"""End-to-end video mode: the paper's second command on the small synthetic dataset (CPU), its
outputs, --evaluate reproducing the logged numbers, and an exact resume after SIGKILL."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import torch

PAPER_VIDEO = (
    "--note posefk --posenet_name 'mulit_farme_videopose' --lr_p 1e-3 "
    "--checkpoint './checkpoint/posefk' --keypoints gt --s1only False "
    "--GAN_whether_use_preAngle True --single_or_multi_train_mode multi --video_over_200mm False "
    "--batch_size 512 --data_enhancement_method 'GAN' --downsample 10 --additional_LR_decay 0.95 "
    "--warmup 20 --single_dis_warmup_epoch 4 --architecture '3,3'")
# The appended flags (three epochs: motion critics from the second, the lifter trains in
# the third), then narrower GAN networks so the suite stays fast on two CPU cores.
APPENDED = ("--epochs 2 --additional_train_epoch 0 --warmup 0 --single_dis_warmup_epoch 1 "
            "--snapshot 1 --device cpu")
NARROW = ("--Gen_DenseDim 64 --Dis_DenseDim_3D 64 --Dis_DenseDim_2D 64 "
          "--video_Dis_DenseDim_3D 64 --video_Dis_DenseDim_2D 64")
MOTION_TAGS = ("motion_Fk_d3d", "back_motion_Fk_d3d", "back_flip_motion_Fk_d3d", "motion_d2d",
               "back_motion_d2d", "back_flip_motion_d2d")


def _command(entry, *extra: str) -> list[str]:
    return entry.command(*shlex.split(PAPER_VIDEO), *shlex.split(APPENDED),
                         *shlex.split(NARROW), *extra)


def _run_dir(base: Path, lifter: str) -> Path:
    (run,) = list((base / "checkpoint" / "posefk" / lifter / "gt").glob("*_posefk"))
    return run


@pytest.fixture(scope="module")
def video_runs(entry, tmp_path_factory) -> dict:
    runs = {}
    for lifter in ("mulit_farme_videopose", "mulit_farme_poseformer"):
        base = tmp_path_factory.mktemp(lifter)
        entry.run(_command(entry, "--posenet_name", lifter), cwd=base)
        runs[lifter] = _run_dir(base, lifter)
    return runs


def _scalar_tags(run: Path) -> set:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(run))
    acc.Reload()
    return set(acc.Tags()["scalars"])


@pytest.mark.parametrize("lifter", ["mulit_farme_videopose", "mulit_farme_poseformer"])
def test_paper_video_command_trains_and_writes_every_output(video_runs, entry, lifter):
    run = video_runs[lifter]
    rows = [r.split("\t") for r in entry.rows(run)]
    # epochs 0 and 1 train only the GAN (motion critics from epoch 1), epoch 2 trains the lifter
    assert [r[0] for r in rows] == ["0", "1", "2", "2"]
    assert float(rows[0][2]) == 0.0 and float(rows[2][1]) == 0.0
    assert all(float(r[2]) > 0 and float(r[4]) > 0 for r in rows[2:])     # H36M and 3DHP P1
    for name in ("ckpt_last.pth.tar", "ckpt_best_h36m_p1.pth.tar", "ckpt_epoch_0003.pth.tar"):
        assert (run / name).is_file()
    tags = _scalar_tags(run)
    assert {f"train_G_iter_PoseFk/{t}_D_real" for t in MOTION_TAGS} <= tags
    assert "posenet_mpi3d_loader_flip/p1score_real" in tags
    pictures = sorted(p.name for p in (run / "tmp").glob("gan_video_epoch*.png"))
    assert pictures == ["gan_video_epoch000.png", "gan_video_epoch001.png", "gan_video_epoch002.png"]
    ckpt = torch.load(run / "ckpt_last.pth.tar", weights_only=True)
    assert ckpt["augmenter"]["global_iter"] == 3          # 600 frames // 512 per epoch
    assert {"DM3", "DM2", "opt_DM3", "opt_DM2"} <= set(ckpt["augmenter"])


def test_evaluate_reproduces_the_logged_video_metrics(video_runs, entry):
    run = video_runs["mulit_farme_videopose"]
    ckpt = run / "ckpt_best_h36m_p1.pth.tar"
    entry.run(entry.command("--evaluate", str(ckpt), "--device", "cpu"), cwd=run)
    result = json.loads((run / "ckpt_best_h36m_p1.eval.json").read_text())
    logged = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    (real,) = [e for e in logged if e["tag"] == "_real"]
    assert result["h36m"] == real["h36m"] and result["dhp"] == real["dhp"]


def test_killed_video_run_resumes_exactly(video_runs, entry, tmp_path):
    full = video_runs["mulit_farme_videopose"]
    cmd = _command(entry, "--posenet_name", "mulit_farme_videopose")
    ckpt = entry.kill_after_first_checkpoint(
        cmd, tmp_path, "checkpoint/posefk/mulit_farme_videopose/gt/*_posefk/ckpt_last.pth.tar")
    assert torch.load(ckpt, weights_only=True)["epoch"] < 3
    entry.run(cmd + ["--resume", str(ckpt)], cwd=tmp_path)
    run = _run_dir(tmp_path, "mulit_farme_videopose")
    assert entry.rows(run) == entry.rows(full)
    assert entry.max_weight_difference(full / "ckpt_last.pth.tar", run / "ckpt_last.pth.tar") < 1e-6
