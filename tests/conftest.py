"""Shared fixtures: a tiny dataset in the real H36M file formats, made in a temporary folder."""
from __future__ import annotations

from pathlib import Path

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
