"""MKL's reproducibility mode is requested before torch starts, and a user's choice is kept."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO
from utils.blas_reproducibility import SETTINGS, request_reproducible_blas


def test_sets_missing_variables_and_keeps_the_users():
    env = {"MKL_DYNAMIC": "TRUE", "PATH": "/bin"}
    request_reproducible_blas(env)
    assert env == {"MKL_DYNAMIC": "TRUE", "PATH": "/bin", "MKL_CBWR": "AUTO"}


@pytest.mark.skipif(not torch.backends.mkl.is_available(), reason="torch is not built with MKL")
@pytest.mark.parametrize("user_value, mode", [(None, "CNR:AUTO"), ("COMPATIBLE", "CNR:COMPATIBLE")])
def test_entry_script_turns_on_mkl_reproducibility(user_value, mode):
    """MKL_VERBOSE prints the mode of each call: importing the entry script is enough to get
    AUTO, unless the user asked for another mode."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update({"MKL_VERBOSE": "1", "PYTHONPATH": str(REPO)})
    if user_value:
        env["MKL_CBWR"] = user_value
    code = "import run_fk_gan, torch; torch.ones(256, 256) @ torch.ones(256, 256)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    calls = [line for line in out.splitlines() if line.startswith("MKL_VERBOSE") and "CNR:" in line]
    if not calls:
        pytest.skip("this torch build ran the product outside MKL")
    assert all(mode in line for line in calls), out[-2000:]
