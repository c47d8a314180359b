import math

import torch

from utils import metrics


def _rotation(axis_angle):
    a = torch.tensor(axis_angle, dtype=torch.float64)
    theta = a.norm()
    k = a / theta
    K = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(theta) * K + (1 - math.cos(theta)) * K @ K


def test_mpjpe_hand_example():
    target = torch.zeros(1, 4, 3)
    pred = torch.zeros(1, 4, 3)
    pred[0, 1] = torch.tensor([3.0, 4.0, 0.0])   # error 5
    pred[0, 2] = torch.tensor([0.0, 0.0, 2.0])   # error 2
    assert torch.isclose(metrics.mpjpe(pred, target), torch.tensor([7.0 / 4]))


def test_p_mpjpe_is_zero_for_similarity_copy():
    g = torch.Generator().manual_seed(1)
    target = torch.randn(3, 16, 3, generator=g, dtype=torch.float64)
    R = _rotation([0.3, -1.2, 0.7])
    pred = 2.5 * target @ R.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    assert metrics.p_mpjpe(pred, target).abs().max() < 1e-9
    assert metrics.mpjpe(pred, target).min() > 0.1


def test_p_mpjpe_does_not_allow_reflection():
    g = torch.Generator().manual_seed(2)
    target = torch.randn(16, 3, generator=g, dtype=torch.float64)
    mirrored = target * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert metrics.p_mpjpe(mirrored, target) > 1e-3
    # Never worse than plain MPJPE after removing the means.
    centred = metrics.mpjpe(mirrored - mirrored.mean(0), target - target.mean(0))
    assert metrics.p_mpjpe(mirrored, target) <= centred + 1e-12


def test_pck_strict_threshold_and_joint_subset():
    err = torch.tensor([[149.0, 150.0, 10.0, 200.0]])
    assert metrics.pck(err).item() == 50.0
    assert metrics.pck(err, joints=(0, 2)).item() == 100.0


def test_auc_hand_example():
    # Thresholds 0, 5, ..., 150: an error of 12 mm is below 28 of the 31 thresholds (15..150);
    # an error of 0 is below 30 (0 is not < 0).
    err = torch.tensor([12.0, 0.0, 1000.0])
    expected = (28 + 30 + 0) / (3 * 31) * 100
    assert abs(metrics.auc(err).item() - expected) < 1e-9


def test_per_group_mean():
    v = torch.tensor([1.0, 3.0, 10.0])
    g = torch.tensor([0, 0, 2])
    out = metrics.per_group_mean(v, g, 3)
    assert out[0] == 2 and torch.isnan(out[1]) and out[2] == 10
