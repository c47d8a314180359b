"""End-to-end: nothing a user made is lost, nothing wrong is silent (each test reproduces a
failure a user met: a snapshot resume that rewrote a finished run, a collapsing GAN, Ctrl-C,
debris of a killed checkpoint write, runs that would train nothing)."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import default_sigint

MLP = ("--posenet_name", "mlp", "--stages", "1", "--batch_size", "512", "--device", "cpu",
       "--note", "safe", "--additional_train_epoch", "0")
GAN = ("--data_enhancement_method", "GAN", "--warmup", "0", "--Gen_DenseDim", "32",
       "--Dis_DenseDim_3D", "32", "--Dis_DenseDim_2D", "32", "--record_all_picture", "False")


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(entry, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("finished")
    entry.run(entry.command(*MLP, "--checkpoint", str(base), "--epochs", "3", "--snapshot", "1",
                            "--data_enhancement_method", "NO_enhance"), cwd=base)
    (run,) = list(base.glob("mlp/gt/*_safe"))
    return run


def test_resume_from_a_snapshot_forks_and_leaves_the_finished_run_untouched(finished_run, entry):
    before = _files(finished_run)
    snapshot = finished_run / "ckpt_epoch_0002.pth.tar"
    proc = entry.run(entry.command(*MLP, "--checkpoint", str(finished_run.parent), "--epochs", "4",
                                   "--data_enhancement_method", "NO_enhance", "--resume",
                                   str(snapshot)), cwd=finished_run.parent)
    assert _files(finished_run) == before                    # every byte as it was
    fork = finished_run.parent / f"{finished_run.name}_from-ckpt_epoch_0002-e2"
    assert fork.is_dir() and str(fork.name) in proc.stdout
    rows = entry.rows(fork)
    # the log up to the snapshot (epochs 0, 1), then the continued epochs 2 and 3
    assert [r.split("\t")[0] for r in rows] == ["0", "1", "2", "3"]
    assert rows[:2] == entry.rows(finished_run)[:2]
    assert (fork / "ckpt_last.pth.tar").is_file()


def test_resume_with_another_method_is_one_short_line(finished_run, entry):
    proc = entry.run(entry.command(*MLP, *GAN, "--epochs", "4", "--resume",
                                   str(finished_run / "ckpt_last.pth.tar")),
                     cwd=finished_run.parent, code=2)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--data_enhancement_method NO_enhance" in proc.stderr and len(proc.stderr) < 400


def test_in_place_resume_removes_stale_temporaries(finished_run, entry, tmp_path):
    import shutil
    run = tmp_path / finished_run.name
    shutil.copytree(finished_run, run)
    stale = run / ".ckpt_last.pth.tar.abcd1234.tmp"
    stale.write_bytes(b"torn")
    keep = run / "notes.tmp"
    keep.write_text("mine")
    entry.run(entry.command(*MLP, "--checkpoint", str(tmp_path), "--epochs", "4",
                            "--data_enhancement_method", "NO_enhance",
                            "--resume", str(run / "ckpt_last.pth.tar")), cwd=tmp_path)
    assert not stale.exists() and keep.read_text() == "mine"
    assert [r.split("\t")[0] for r in entry.rows(run)] == ["0", "1", "2", "3"]
    assert "removed .ckpt_last.pth.tar.abcd1234.tmp" in (run / "log.txt").read_text()


def test_collapsing_gan_stops_with_exit_3_and_writes_no_checkpoint(entry, tmp_path):
    proc = entry.run(entry.command(*MLP, *GAN, "--checkpoint", str(tmp_path), "--epochs", "2",
                                   "--lr_g", "1e3", "--lr_d", "1e3"), cwd=tmp_path, code=3)
    (line,) = [l for l in proc.stderr.splitlines() if l.startswith("error:")]   # after tqdm bars
    assert "Traceback" not in proc.stderr and line.startswith("error: the ")
    assert "non-finite" in line and "--lr_d" in line
    (run,) = list(tmp_path.glob("mlp/gt/*_safe"))
    assert not list(run.glob("*.pth.tar")) and not list(run.glob(".*.tmp"))


def test_ctrl_c_prints_where_and_how_to_resume(entry, tmp_path):
    cmd = entry.command(*MLP, "--checkpoint", str(tmp_path), "--epochs", "50",
                        "--data_enhancement_method", "NO_enhance")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)
    deadline = time.time() + 300
    while time.time() < deadline and not list(tmp_path.glob("mlp/gt/*_safe/ckpt_last.pth.tar")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted at epoch" in err and "resume with:" in err and "--resume" in err
    assert "ckpt_last.pth.tar" in err and "Traceback" not in err


@pytest.mark.parametrize("flags, words", [
    (("--epochs", "0", "--data_enhancement_method", "NO_enhance"), "nothing would be trained"),
    (("--epochs", "1", *GAN), "GAN-only"),
])
def test_a_run_that_would_train_nothing_is_refused_before_any_folder(entry, tmp_path, flags,
                                                                     words):
    proc = entry.run(entry.command(*MLP, "--checkpoint", str(tmp_path), *flags), cwd=tmp_path,
                     code=2)
    assert words in proc.stderr and not list(tmp_path.glob("mlp"))


def test_checkpoint_naming_a_file_is_one_line(entry, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = entry.run(entry.command(*MLP, "--checkpoint", str(blocker), "--epochs", "1"),
                     cwd=tmp_path, code=2)
    assert proc.stderr.startswith("error: ") and str(blocker) in proc.stderr
    assert "Traceback" not in proc.stderr
