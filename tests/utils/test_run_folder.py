"""utils.run_folder: where a resumed run writes; the source folder of a fork is never touched."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from utils.config import parse_args
from utils.io import DataError
from utils.run_folder import (check_resume_flags, checkpoint_stem, continues_in_place,
                              fork_folder_name, interrupt_message, resume_target, strip_resume)

LOG = ["Namespace(note='e2e')", "MLP(...)", "epoch\tlr\terror_h36m_p1", "0\t0.00006667\t600.0",
       "1\t0.00003333\t550.0", "2\t0.00001000\t500.0"]


def finished_run(base: Path) -> Path:
    """A run folder as a finished 3-epoch run leaves it (snapshot at epoch 2, best, last)."""
    run = base / "mlp" / "gt" / "2026-01-01T10-00-00_e2e"
    (run / "tmp").mkdir(parents=True)
    (run / "log.txt").write_text("".join(line + "\n" for line in LOG))
    (run / "metrics.jsonl").write_text('{"epoch": 0}\n{"epoch": 1}\n{"epoch": 2}\n')
    for name, data in (("ckpt_last.pth.tar", b"epoch 3"), ("ckpt_epoch_0002.pth.tar", b"epoch 2"),
                       ("ckpt_best_h36m_p1.pth.tar", b"best"), ("events.out.tfevents.1", b"tb"),
                       ("tmp/gan_poses_epoch001.png", b"png")):
        (run / name).write_bytes(data)
    return run


def snapshot(folder: Path) -> dict:
    """Every file below ``folder``: relative path -> (sha256 of the bytes, mtime)."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resume_from_a_snapshot_forks_and_leaves_every_source_byte(tmp_path):
    run = finished_run(tmp_path)
    before = snapshot(run)
    target, forked = resume_target(run / "ckpt_epoch_0002.pth.tar", 2, LOG[:5])
    assert forked and target.parent == run.parent
    assert target.name == "2026-01-01T10-00-00_e2e_from-ckpt_epoch_0002-e2"
    assert sorted(p.name for p in target.iterdir()) == ["tmp"]     # the caller writes the log
    again, forked = resume_target(run / "ckpt_epoch_0002.pth.tar", 2, LOG[:5])
    assert forked and again.name == target.name + "-2"             # never reuses a folder
    best, _ = resume_target(run / "ckpt_best_h36m_p1.pth.tar", 1, LOG[:4])
    assert best.name == "2026-01-01T10-00-00_e2e_from-ckpt_best_h36m_p1-e1"
    assert snapshot(run) == before
    assert sorted(p.name for p in run.parent.iterdir()) == sorted(
        [run.name, target.name, again.name, best.name])


def test_resume_from_ckpt_last_of_its_own_run_continues_in_place(tmp_path):
    run = finished_run(tmp_path)
    # killed during epoch 3: the log holds the checkpoint's lines plus a partial epoch
    with open(run / "log.txt", "a") as fh:
        fh.write("3\t0.00000950\t490.0\n")
    target, forked = resume_target(run / "ckpt_last.pth.tar", 3, LOG)
    assert (target, forked) == (run.resolve(), False)
    assert sorted(p.name for p in run.parent.iterdir()) == [run.name]


def test_a_ckpt_last_that_is_not_its_folders_last_forks(tmp_path):
    run = finished_run(tmp_path)
    other = finished_run(tmp_path / "b")
    (other / "log.txt").write_text("another run\n")
    # a copy of run's ckpt_last inside another run folder, and one in a download folder
    assert not continues_in_place(other / "ckpt_last.pth.tar", LOG)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "ckpt_last.pth.tar").write_bytes(b"x")
    assert not continues_in_place(downloads / "ckpt_last.pth.tar", LOG)
    target, forked = resume_target(downloads / "ckpt_last.pth.tar", 3, LOG)
    assert forked and target == tmp_path / "downloads_from-ckpt_last-e3"
    # a log that diverges inside the checkpoint's lines (not just after them) is another run
    (run / "log.txt").write_text("".join(line + "\n" for line in LOG[:3] + ["edited"] + LOG[4:]))
    assert not continues_in_place(run / "ckpt_last.pth.tar", LOG)


def test_names():
    assert checkpoint_stem("a/ckpt_epoch_0002.pth.tar") == "ckpt_epoch_0002"
    assert checkpoint_stem("best.pth") == "best" and checkpoint_stem("model.ckpt") == "model"
    assert checkpoint_stem("weights.bin") == "weights"
    assert fork_folder_name("/r/run_x/ckpt_best_dhp_p1.pth.tar", 12) == \
        "run_x_from-ckpt_best_dhp_p1-e12"


def _saved(**changes) -> dict:
    saved = vars(parse_args(["--data_enhancement_method", "GAN", "--Gen_DenseDim", "32"]))
    saved.update(changes)
    return saved


def test_resume_with_another_method_or_architecture_is_one_short_line():
    args = parse_args(["--data_enhancement_method", "GAN", "--Gen_DenseDim", "32"])
    check_resume_flags(_saved(), args, "r/ckpt_last.pth.tar")
    check_resume_flags(_saved(lr_p=1.0, note="other"), args, "r")      # other flags: allowed
    with pytest.raises(DataError) as err:
        check_resume_flags(_saved(data_enhancement_method="normal"), args, "r/ckpt_last.pth.tar")
    assert str(err.value) == ("--resume r/ckpt_last.pth.tar was trained with "
                              "--data_enhancement_method normal, but this command gives "
                              "--data_enhancement_method GAN; repeat the run's flags, or drop "
                              "--resume to start a new run")
    with pytest.raises(DataError, match="--Gen_DenseDim 1000, but this command gives --Gen_DenseDim 32;"):
        check_resume_flags(_saved(Gen_DenseDim=1000), args, "r")
    with pytest.raises(DataError, match="--posenet_name gcn --stages 2"):
        check_resume_flags(_saved(posenet_name="gcn", stages=2), args, "r")
    plain = parse_args(["--data_enhancement_method", "NO_enhance"])
    check_resume_flags(_saved(data_enhancement_method="NO_enhance", Gen_DenseDim=7), plain, "r")
    check_resume_flags({"epoch": 1}, plain, "r")                       # an old checkpoint's args


def test_interrupt_message_gives_the_command_that_continues(tmp_path):
    run = finished_run(tmp_path)
    argv = ["--note", "my run", "--epochs", "3", "--resume", "old/ckpt_epoch_0002.pth.tar"]
    assert strip_resume(argv) == ["--note", "my run", "--epochs", "3"]
    assert strip_resume(["--resume=x", "--epochs", "1"]) == ["--epochs", "1"]
    msg = interrupt_message(argv, 4, run)
    assert msg == (f"interrupted at epoch 4; resume with: python3 run_fk_gan.py --note 'my run' "
                   f"--epochs 3 --resume {run / 'ckpt_last.pth.tar'}")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert interrupt_message(["--epochs", "3"], 0, fresh) == \
        "interrupted at epoch 0 before the first checkpoint; start again with: " \
        "python3 run_fk_gan.py --epochs 3"
    assert interrupt_message(argv, 2, fresh).startswith(
        "interrupted at epoch 2 before its first checkpoint; resume again with: "
        "python3 run_fk_gan.py --note 'my run'")
    assert interrupt_message([], None, None, program="python x.py") == \
        "interrupted before the first checkpoint; start again with: python x.py"

