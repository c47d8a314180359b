import pytest
import torch

from models.lifter_common import pad_root, single_frame_input, window_input


def test_flat_input_is_joint_major_pairs():
    flat = torch.arange(2 * 32, dtype=torch.float32).reshape(2, 32)
    pose = single_frame_input(flat)
    assert pose.shape == (2, 16, 2)
    # joint j of sample b is (flat[b, 2j], flat[b, 2j + 1])
    assert torch.equal(pose[1, 5], torch.tensor([32.0 + 10, 32.0 + 11]))


def test_structured_input_passes_through():
    pose = torch.randn(3, 16, 2)
    assert single_frame_input(pose) is pose


@pytest.mark.parametrize("shape", [(2, 31), (2, 16, 3), (16, 2), (2, 1, 16, 2)])
def test_single_frame_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match="single-frame lifter input"):
        single_frame_input(torch.zeros(shape))


def test_window_input_checks_frames():
    x = torch.zeros(2, 9, 16, 2)
    assert window_input(x, frames=9) is x
    with pytest.raises(ValueError, match=r"\(N, 27, 16, 2\)"):
        window_input(x, frames=27)
    with pytest.raises(ValueError):
        window_input(torch.zeros(2, 9, 32))


def test_pad_root_prepends_zero_joint_over_any_leading_shape():
    joints = torch.randn(2, 4, 15, 3, dtype=torch.float64)
    out = pad_root(joints)
    assert out.shape == (2, 4, 16, 3) and out.dtype == torch.float64
    assert torch.equal(out[..., 0, :], torch.zeros(2, 4, 3, dtype=torch.float64))
    assert torch.equal(out[..., 1:, :], joints)
