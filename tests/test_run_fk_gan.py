"""End-to-end runs of the entry script as a user runs it (subprocess), on the small synthetic
dataset (built once per module into a temporary folder)."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import ENTRY_SCRIPT as SCRIPT
from tests.conftest import EntryScript


@pytest.fixture(scope="module")
def data_dir(synthetic_small) -> Path:
    return synthetic_small


def _data_flags(data_dir: Path) -> list[str]:
    return ["--dataset", "synthetic", "--synthetic_size", "small", "--data_dir", str(data_dir)]


def _flags(data_dir: Path, base: Path, *extra: str) -> list[str]:
    return [sys.executable, SCRIPT, *_data_flags(data_dir), "--checkpoint", str(base),
            "--posenet_name", "mlp", "--stages", "1", "--batch_size", "256", "--epochs", "2",
            "--additional_train_epoch", "1", "--device", "cpu", "--note", "e2e", *extra]


_run = EntryScript.run
_rows = EntryScript.rows


def _run_dir(base: Path) -> Path:
    (run,) = list(base.glob("mlp/gt/*_e2e"))
    return run


NO_ENHANCE = ("--data_enhancement_method", "NO_enhance")
GAN = ("--data_enhancement_method", "GAN", "--warmup", "0", "--Gen_DenseDim", "32",
       "--Dis_DenseDim_3D", "32", "--Dis_DenseDim_2D", "32", "--record_all_picture", "False")
METHODS = {"NO_enhance": NO_ENHANCE, "GAN": GAN}


@pytest.fixture(scope="module")
def full_runs(data_dir, tmp_path_factory) -> dict:
    runs = {}
    for name, flags in METHODS.items():
        base = tmp_path_factory.mktemp(f"full_{name}")
        _run(_flags(data_dir, base, *flags), cwd=base)
        runs[name] = _run_dir(base)
    return runs


@pytest.fixture(scope="module")
def full_run(full_runs) -> Path:
    return full_runs["NO_enhance"]


def test_run_writes_log_checkpoints_and_tensorboard(full_run):
    text = (full_run / "log.txt").read_text().splitlines()
    assert text[0].startswith("Namespace(")
    assert "epoch\tlr\terror_h36m_p1\terror_h36m_p2\terror_3dhp_p1\terror_3dhp_p2\tPCK\tAUC\t" in text
    rows = _rows(full_run)
    assert [r.split("\t")[0] for r in rows] == ["0", "1", "2"]
    lr_after_epoch0 = float(rows[0].split("\t")[1])
    assert lr_after_epoch0 == pytest.approx(1e-4 * (1 - 1 / 3), abs=1e-8)
    assert all(len(r.split("\t")) == 8 and r.split("\t")[4] for r in rows)
    for name in ("ckpt_last.pth.tar", "ckpt_best_h36m_p1.pth.tar", "ckpt_epoch_0002.pth.tar"):
        assert (full_run / name).is_file()
    assert list(full_run.glob("events.out.tfevents.*"))
    entries = [json.loads(l) for l in (full_run / "metrics.jsonl").read_text().splitlines()]
    assert [e["tag"] for e in entries] == ["_real"] * 3 and "per_action" in entries[0]["h36m"]


def test_evaluate_reproduces_logged_metrics(full_run, data_dir):
    ckpt = full_run / "ckpt_best_h36m_p1.pth.tar"
    epoch = torch.load(ckpt, weights_only=True)["epoch"]
    proc = _run([sys.executable, SCRIPT, "--evaluate", str(ckpt), *_data_flags(data_dir),
                 "--device", "cpu"], cwd=full_run)
    assert "P1" in proc.stdout
    result = json.loads((full_run / "ckpt_best_h36m_p1.eval.json").read_text())
    logged = [json.loads(l) for l in (full_run / "metrics.jsonl").read_text().splitlines()]
    (entry,) = [e for e in logged if e["epoch"] == epoch]
    assert result["h36m"]["p1"] == entry["h36m"]["p1"]
    assert result["h36m"]["p2"] == entry["h36m"]["p2"]
    assert result["h36m"]["per_action"] == entry["h36m"]["per_action"]
    assert result["dhp"] == entry["dhp"]


def test_gan_run_trains_on_fake_then_real_rows(full_runs):
    run = full_runs["GAN"]
    rows = [r.split("\t") for r in _rows(run)]
    # Epoch 0 is GAN-only (warm-up 0: the pose net trains from epoch 1): zeros, then a _fake row
    # with lr 0 before each trained epoch's row.
    assert [r[0] for r in rows] == ["0", "1", "1", "2", "2"]
    assert float(rows[0][2]) == 0.0 and float(rows[1][1]) == 0.0 and float(rows[2][1]) > 0
    ckpt = torch.load(run / "ckpt_last.pth.tar", weights_only=True)
    # 4800 small-synthetic training samples, batch 256, partial batches skipped, 3 epochs.
    assert ckpt["augmenter"]["global_iter"] == 3 * (4800 // 256)
    assert {"G", "D3", "D2", "opt_G", "opt_D3", "opt_D2"} <= set(ckpt["augmenter"])
    entries = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    # every epoch: the GAN diagnostics of its fake pool, then (once the lifter trains) the two
    # evaluations
    assert [e["tag"] for e in entries] == ["_gan_quality", "_gan_quality", "_fake", "_real",
                                           "_gan_quality", "_fake", "_real"]
    assert entries[0]["gan_quality"]["precision_mm"] > 0


@pytest.mark.parametrize("method", list(METHODS))
def test_killed_run_resumes_exactly(method, full_runs, data_dir, tmp_path, entry):
    full_run = full_runs[method]
    cmd = _flags(data_dir, tmp_path, *METHODS[method])
    ckpt = entry.kill_after_first_checkpoint(cmd, tmp_path, "mlp/gt/*_e2e/ckpt_last.pth.tar")
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    assert killed_at < 3, "the run finished before it could be killed"
    _run(cmd + ["--resume", str(ckpt)], cwd=tmp_path)
    run = _run_dir(tmp_path)
    assert _rows(run) == _rows(full_run)
    assert entry.max_weight_difference(full_run / "ckpt_last.pth.tar",
                                       run / "ckpt_last.pth.tar") < 1e-6
    assert "resumed from" in (run / "log.txt").read_text()


def test_missing_3dhp_is_skipped_with_empty_columns(data_dir, tmp_path):
    import shutil
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    (copy / "synthetic" / "extra" / "test_set" / "test_3dhp.npz").unlink()
    cmd = [sys.executable, SCRIPT, "--dataset", "h36m", "--data_dir", str(copy / "synthetic"),
           "--data_extra_dir", str(copy / "synthetic" / "extra"), "--checkpoint", str(tmp_path),
           "--posenet_name", "mlp", "--stages", "1", "--batch_size", "512", "--epochs", "1",
           "--additional_train_epoch", "0", "--device", "cpu", "--note", "e2e",
           "--data_enhancement_method", "NO_enhance"]
    proc = _run(cmd, cwd=tmp_path)
    assert "3DHP evaluation is skipped" in proc.stdout
    (row,) = _rows(_run_dir(tmp_path))
    assert row.split("\t")[4:] == ["", "", "", ""]


def test_bad_input_is_one_line_error(tmp_path):
    proc = _run([sys.executable, SCRIPT, "--data_dir", str(tmp_path / "none"), "--device", "cpu",
                 "--checkpoint", str(tmp_path)], cwd=tmp_path, code=2)
    assert proc.stderr.strip().startswith("error: missing file") and "Traceback" not in proc.stderr
    assert "prepare_data_h36m.py" in proc.stderr


PAPER_SINGLE_FRAME = (
    "--note posefk --posenet_name 'videopose' --lr_p 1e-4 --checkpoint './checkpoint/posefk' "
    "--keypoints gt --s1only False --GAN_whether_use_preAngle True --video_over_200mm False "
    "--batch_size 1024 --data_enhancement_method 'GAN' --additional_LR_decay 0.95 "
    "--Gen_DenseDim 256 --Dis_DenseDim_3D 256 --Dis_DenseDim_2D 256")


def test_paper_single_frame_command_runs_verbatim(data_dir, tmp_path):
    cmd = [sys.executable, SCRIPT, *shlex.split(PAPER_SINGLE_FRAME), *_data_flags(data_dir),
           "--epochs", "2", "--additional_train_epoch", "0", "--warmup", "0", "--device", "cpu"]
    _run(cmd, cwd=tmp_path)
    (run,) = list((tmp_path / "checkpoint" / "posefk" / "videopose" / "gt").glob("*_posefk"))
    # epoch 0 is GAN-only; epoch 1 trains on the fake pool (row with lr 0), then on real data
    assert [r.split("\t")[0] for r in _rows(run)] == ["0", "1", "1"]
    for name in ("log.txt", "ckpt_last.pth.tar", "ckpt_epoch_0002.pth.tar"):
        assert (run / name).is_file()
    assert list(run.glob("events.out.tfevents.*"))
    pictures = sorted(p.name for p in (run / "tmp").glob("*.png"))
    assert pictures == ["gan_angles_epoch001.png", "gan_poses_epoch001.png"]
