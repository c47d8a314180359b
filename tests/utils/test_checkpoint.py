import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from utils.checkpoint import load_checkpoint, save_checkpoint
from utils.io import DataError

REPO = Path(__file__).resolve().parents[2]

SLOW_WRITER = """
import sys, time, torch
sys.path.insert(0, {repo!r})
from utils.io import atomic_write
def write(tmp):
    with open(tmp, 'wb') as fh:
        fh.write(b'half a checkpoint')
        fh.flush()
        print('writing', flush=True)
        time.sleep(60)
atomic_write({path!r}, write)
"""


def test_round_trip_and_clear_errors(tmp_path):
    path = tmp_path / "ckpt.pth.tar"
    save_checkpoint(path, {"epoch": 3, "model_pos": {"w": torch.ones(2)}})
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and torch.equal(state["model_pos"]["w"], torch.ones(2))
    with pytest.raises(DataError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pth.tar")
    with pytest.raises(DataError, match="optimizer"):
        load_checkpoint(path, ("model_pos", "optimizer"))
    (tmp_path / "junk.pth.tar").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pth.tar")


def test_killed_writer_leaves_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "ckpt_last.pth.tar"
    save_checkpoint(path, {"epoch": 1, "model_pos": {"w": torch.arange(3.0)}})
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER.format(repo=str(REPO), path=str(path))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"   # the writer is midway
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["model_pos"]["w"], torch.arange(3.0))
