"""Shared fixtures: a tiny dataset in the real H36M file formats, made in a temporary folder, and
the command-line scaffolding of the preparation scripts' tests (``cli_error``, ``run_script``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from utils.blas_reproducibility import request_reproducible_blas

request_reproducible_blas()    # before torch loads MKL (utils/blas_reproducibility.py)
# One OpenMP thread per process, also for the scripts the tests start: two xdist workers each
# running a 2-thread training on 2 cores made OpenMP spin-wait (the end-to-end files took 2-2.5x
# their time alone). Tests that need more threads set the variable for their child explicitly.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

from data import h36m_format as fmt
from utils import skeleton

# A standing 16-joint pose (world metres, z up, facing +y) used to build test sequences.
REST_16 = np.array([
    [0, 0, 0.95], [0.13, 0, 0.95], [0.13, 0.02, 0.5], [0.13, 0, 0.08], [-0.13, 0, 0.95],
    [-0.13, 0.02, 0.5], [-0.13, 0, 0.08], [0, 0.01, 1.18], [0, 0, 1.44], [0, 0.02, 1.62],
    [-0.16, 0, 1.42], [-0.2, 0.02, 1.14], [-0.22, 0.05, 0.9], [0.16, 0, 1.42], [0.2, 0.02, 1.14],
    [0.22, 0.05, 0.9]], dtype=np.float32)

SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
ACTIONS = ("Walking 1", "Walking 2", "Sitting 1", "SittingDown 1")


def make_positions_3d(frames: int = 6, seed: int = 0) -> dict:
    """{subject: {action: (frames, 32, 3)}}: the rest pose, jittered and moved around."""
    rng = np.random.default_rng(seed)
    out = {}
    for s in SUBJECTS:
        out[s] = {}
        for a in ACTIONS:
            p16 = REST_16[None] + rng.normal(0, 0.02, (frames, 16, 3)).astype(np.float32)
            p16 += np.concatenate([rng.uniform(-0.5, 0.5, (frames, 1, 2)),
                                   np.zeros((frames, 1, 1))], axis=-1).astype(np.float32)
            p32 = np.zeros((frames, 32, 3), np.float32)
            p32[:, list(skeleton.H36M32_TO_16)] = p16
            out[s][a] = p32
    return out


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Test tensors are tiny: one intra-op thread avoids OpenMP stalls on a busy 2-core machine
    (measured on the augmenter tests: ~7 s instead of 25-60 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_h36m(tmp_path_factory) -> Path:
    """A data folder with data_3d_h36m.npz and data_2d_h36m_gt.npz (7 subjects, 4 sequences)."""
    root = tmp_path_factory.mktemp("tiny_h36m")
    pos3d = make_positions_3d()
    fmt.save_positions_3d(fmt.file_3d(root), pos3d)
    fmt.save_positions_2d(fmt.file_2d(root, "gt"), fmt.compute_gt_2d(pos3d))
    return root


@pytest.fixture
def cli_error(capsys) -> Callable[[Callable[[list], int], list], str]:
    """``cli_error(main, argv)`` runs a command-line ``main`` that must refuse ``argv`` and returns
    its message. The contract every script keeps: exit status 2 and exactly one stderr line
    ``error: ...`` (no traceback), which the caller then checks for the file or flag it names."""
    def run(main: Callable[[list], int], argv: list) -> str:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        return err
    return run


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test interrupts: SIGINT back to its default, so the
    child's Python turns it into KeyboardInterrupt even when the test runner itself was started
    with SIGINT ignored (as a background job of a non-interactive shell is)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def run_script() -> Callable[..., subprocess.CompletedProcess]:
    """``run_script(script, *args, cwd=folder)`` runs a script as a user would, in a fresh
    interpreter started from ``folder`` (so it must not depend on the working directory);
    returns the completed process with its text stdout and stderr."""
    def run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                              text=True, timeout=120)
    return run


# --------------------------------------------------------------------------- end-to-end runs
REPO = Path(__file__).resolve().parents[1]
ENTRY_SCRIPT = str(REPO / "run_fk_gan.py")


@pytest.fixture(scope="session")
def synthetic_small(tmp_path_factory) -> Path:
    """A --data_dir holding the small synthetic dataset (built once per test session)."""
    from data.prepare_data_synthetic import ensure_synthetic_dataset
    root = tmp_path_factory.mktemp("e2e_data")
    ensure_synthetic_dataset(root / "synthetic", seed=0, size="small", log=lambda m: None)
    return root


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children first."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


class EntryScript:
    """``run_fk_gan.py`` run as a user runs it (a subprocess), and what its run folder holds."""

    def __init__(self, data_dir: Path) -> None:
        self.data_flags = ["--dataset", "synthetic", "--synthetic_size", "small",
                           "--data_dir", str(data_dir)]

    def command(self, *flags: str) -> list[str]:
        return [sys.executable, ENTRY_SCRIPT, *flags, *self.data_flags]

    @staticmethod
    def run(cmd: list[str], cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
        assert proc.returncode == code, proc.stderr[-3000:]
        return proc

    @staticmethod
    def rows(run_dir: Path) -> list[str]:
        """The epoch rows of log.txt."""
        return [l for l in (run_dir / "log.txt").read_text().splitlines() if l[:1].isdigit()]

    @staticmethod
    def kill_after_first_checkpoint(cmd: list[str], cwd: Path, pattern: str) -> Path:
        """Start ``cmd``, SIGKILL it as soon as ``cwd/pattern`` (a ckpt_last) exists, return it.

        Every descendant is killed too, so the workers of a launcher such as torchrun (which
        start sessions of their own) do not live on.
        """
        import signal
        import time
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline, ckpt = time.time() + 600, None
        while time.time() < deadline and proc.poll() is None:
            found = list(Path(cwd).glob(pattern))
            if found:
                ckpt = found[0]
                break
            time.sleep(0.005)
        for pid in [proc.pid, *_descendants(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=60)
        assert ckpt is not None and proc.returncode == -signal.SIGKILL, "run ended before the kill"
        return ckpt

    @staticmethod
    def max_weight_difference(a: Path, b: Path) -> float:
        """Largest absolute difference of the pose-net weights of two checkpoints."""
        wa = torch.load(a, map_location="cpu", weights_only=True)["model_pos"]
        wb = torch.load(b, map_location="cpu", weights_only=True)["model_pos"]
        assert list(wa) == list(wb)
        return max((wa[k].double() - wb[k].double()).abs().max().item()
                   for k in wa if wa[k].numel())


@pytest.fixture(scope="session")
def entry(synthetic_small) -> EntryScript:
    return EntryScript(synthetic_small)


class RecordingWriter:
    """Stand-in for a TensorBoard SummaryWriter that keeps what was written:
    ``scalars`` as (tag, value, step), ``images`` as (tag, step, shape, dataformats)."""

    def __init__(self) -> None:
        self.scalars: list[tuple[str, float, int]] = []
        self.images: list[tuple[str, int, tuple[int, ...], str]] = []

    def add_scalar(self, tag: str, value, step: int) -> None:
        self.scalars.append((tag, float(value), step))

    def add_image(self, tag: str, img, step: int, dataformats: str = "CHW") -> None:
        self.images.append((tag, step, tuple(img.shape), dataformats))
