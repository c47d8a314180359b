"""utils.validate: flag values and paths refused with one line before anything loads."""
from __future__ import annotations

import os

import pytest
import torch

from function_baseline.epoch_plan import plan_epoch, total_epochs
from utils.config import parse_args
from utils.io import DataError
from utils.validate import (check_checkpoint_files, check_device, check_output_folder,
                            check_trains_something, validate_args)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _args(*argv: str):
    return parse_args(list(argv))


def _refused(check, args, match: str) -> str:
    with pytest.raises(DataError, match=match) as err:
        check(args)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_checkpoint_flags_must_name_files(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    msg = _refused(check_checkpoint_files, _args("--resume", str(run)), "is a folder")
    assert msg == f"--resume {run} is a folder; name a checkpoint file"
    (run / "ckpt_last.pth.tar").write_bytes(b"x")
    msg = _refused(check_checkpoint_files, _args("--evaluate", str(run)), "is a folder")
    assert msg.endswith(f"name a checkpoint file such as {run / 'ckpt_last.pth.tar'}")
    _refused(check_checkpoint_files, _args("--GAN_resume", str(tmp_path / "no.pth.tar")),
             r"--GAN_resume .*no.pth.tar does not exist")
    _refused(check_checkpoint_files, _args("--pretrain", "True", "--pretrain_path", str(run)),
             "--pretrain_path .* is a folder")
    check_checkpoint_files(_args("--resume", str(run / "ckpt_last.pth.tar")))
    check_checkpoint_files(_args("--pretrain_path", str(run)))        # unused without --pretrain


def test_gpu_id_is_checked_only_where_cuda_is_used(monkeypatch):
    check_device(_args("--device", "cpu", "--gpu_id", "7"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    check_device(_args("--device", "auto", "--gpu_id", "7"))          # auto falls back to CPU
    _refused(check_device, _args("--device", "cuda"), "--device cuda: no CUDA device is available")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_device(_args("--device", "cuda", "--gpu_id", "1"))
    check_device(_args("--device", "auto", "--gpu_id", "0,1"))
    msg = _refused(check_device, _args("--device", "auto", "--gpu_id", "0,3"), "no CUDA device 3")
    assert msg == "--gpu_id 0,3: no CUDA device 3; this machine has 2 (indices 0..1)"
    _refused(check_device, _args("--device", "cuda", "--gpu_id", "first"), "expects CUDA device indices")


def test_output_folder_must_be_a_writable_folder(tmp_path):
    check_output_folder(_args("--checkpoint", str(tmp_path / "new" / "deeper")))
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert _refused(check_output_folder, _args("--checkpoint", str(afile)), "must be a folder") == \
        f"--checkpoint {afile} must be a folder"
    msg = _refused(check_output_folder, _args("--checkpoint", str(afile / "runs")), "must be a folder")
    assert msg.endswith(f"({afile} is a file where a folder is expected)")


@pytest.mark.skipif(IS_ROOT, reason="root ignores folder permissions")
def test_read_only_output_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _refused(check_output_folder, _args("--checkpoint", str(locked / "runs")), "permission denied")
    finally:
        locked.chmod(0o700)


def _idle(*argv: str, start: int = 0) -> None:
    args = _args(*argv)
    check_trains_something(args, total_epochs(args), lambda e: plan_epoch(e, args).trains, start)


def test_a_run_that_would_train_nothing_is_refused():
    with pytest.raises(DataError, match=r"--epochs 0 \+ --additional_train_epoch 0 = 0 epoch\(s\): "
                                        r"nothing would be trained"):
        _idle("--epochs", "0", "--additional_train_epoch", "0")
    # --warmup 2 gives 3 GAN-only epochs (0, 1, 2): 3 epochs in all train nothing, 4 train once
    with pytest.raises(DataError, match=r"with --warmup 2: epochs 0..2 are GAN-only.*more than 3"):
        _idle("--epochs", "3", "--additional_train_epoch", "0", "--warmup", "2")
    _idle("--epochs", "4", "--additional_train_epoch", "0", "--warmup", "2")
    _idle("--epochs", "1", "--additional_train_epoch", "0", "--data_enhancement_method", "normal")
    with pytest.raises(DataError, match="is at epoch 4 .* nothing is left to train"):
        _idle("--epochs", "4", "--additional_train_epoch", "0", "--resume", "r.pth.tar", start=4)
    with pytest.raises(DataError, match="GAN-only"):
        _idle("--epochs", "3", "--additional_train_epoch", "0", "--warmup", "2", start=1)
    # video: epochs 0..W+S are GAN-only, and the count names every term
    with pytest.raises(DataError, match=r"--epochs 1 \+ --warmup 0 \+ --single_dis_warmup_epoch 1 "
                                        r"\+ --additional_train_epoch 0 = 2 epoch\(s\) with "
                                        r"--warmup 0: epochs 0..1 are GAN-only"):
        _idle("--epochs", "1", "--additional_train_epoch", "0", "--warmup", "0",
              "--single_dis_warmup_epoch", "1", "--posenet_name", "mulit_farme_videopose",
              "--single_or_multi_train_mode", "multi")


def test_validate_args_runs_every_check(tmp_path):
    validate_args(_args("--checkpoint", str(tmp_path), "--device", "cpu"))
    (tmp_path / "f").write_text("")
    _refused(validate_args, _args("--checkpoint", str(tmp_path / "f" / "x")), "must be a folder")
    _refused(validate_args, _args("--evaluate", str(tmp_path)), "--evaluate .* is a folder")
