import pytest
import torch

from utils.device import resolve_device
from utils.io import DataError


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_a_gpu_is_one_clear_error():
    with pytest.raises(DataError, match="no CUDA device"):
        resolve_device("cuda")


def test_unknown_device_names_the_flag():
    with pytest.raises(DataError, match="--device 'tpu9'"):
        resolve_device("tpu9")
