"""Fixtures of the augmenter tests (data builders live in ``synthetic_data``)."""
from __future__ import annotations

import pytest
import torch

from function_baseline.pose_set import PoseSet
from utils.camera import h36m_camera_table

from .synthetic_data import SUBJECTS, make_pose_set, make_templates


@pytest.fixture(scope="module")
def train_set() -> PoseSet:
    return make_pose_set(40)


@pytest.fixture(scope="module")
def templates() -> torch.Tensor:
    return make_templates()


@pytest.fixture(scope="module")
def camera_table() -> torch.Tensor:
    return h36m_camera_table(SUBJECTS)
