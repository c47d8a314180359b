"""data.synthetic_detector: noise statistics, scale equivariance, swaps, temporal filter."""
from __future__ import annotations

import numpy as np

from data import synthetic_detector as sd


def _sequence(N=400, V=2, seed=0):
    """A person ~400 px tall, slowly moving, with the left and right limbs apart."""
    rng = np.random.default_rng(seed)
    base = np.array([[500, 500], [470, 500], [470, 700], [470, 880], [530, 500], [530, 700],
                     [530, 880], [500, 400], [500, 300], [500, 220], [560, 310], [590, 420],
                     [600, 520], [440, 310], [410, 420], [400, 520]], float)
    drift = np.cumsum(rng.normal(0, 1, (V, N, 1, 2)), axis=1)
    gt = base + drift
    depth = np.full((V, N, 16), 5.0)
    return gt, depth


def test_ar1_keeps_unit_variance_and_correlation():
    e = np.random.default_rng(0).standard_normal((3, 100000))
    y = sd._ar1(e, 0.6, axis=1)
    np.testing.assert_allclose(y.std(axis=1), 1.0, atol=0.02)
    r = np.corrcoef(y[0, 1:], y[0, :-1])[0, 1]
    assert abs(r - 0.6) < 0.02
    np.testing.assert_array_equal(y[:, 0], e[:, 0])


def test_active_runs_hand_example():
    starts = np.zeros((1, 10), bool)
    starts[0, [1, 7]] = True
    lengths = np.full((1, 10), 3)
    got = sd._active_runs(starts, lengths, axis=1)
    np.testing.assert_array_equal(got[0].astype(int), [0, 1, 1, 1, 0, 0, 0, 1, 1, 1])


def test_error_size_is_realistic_and_joint_dependent():
    gt, depth = _sequence()
    det = sd.detect(gt, depth, np.random.default_rng(1))
    err = np.linalg.norm(det - gt, axis=-1)
    assert det.shape == gt.shape
    assert 3 < err.mean() < 12 and 8 < np.percentile(err, 95) < 30
    med = np.median(err, axis=(0, 1))
    assert med[[12, 15]].mean() > 1.3 * med[8]            # wrists noisier than the thorax


def test_noise_scales_with_the_image_size_of_the_person():
    gt, depth = _sequence()
    e1 = sd.detect(gt, depth, np.random.default_rng(5)) - gt
    e2 = sd.detect(2 * gt, depth, np.random.default_rng(5)) - 2 * gt
    np.testing.assert_allclose(e2, 2 * e1, rtol=1e-9, atol=1e-9)


def test_occluded_joints_are_noisier():
    gt, depth = _sequence(N=2000)
    behind = depth.copy()
    behind[..., [10, 11, 12]] += 0.3                      # left arm behind the body
    e0 = np.linalg.norm(sd.detect(gt, depth, np.random.default_rng(2)) - gt, axis=-1)
    e1 = np.linalg.norm(sd.detect(gt, behind, np.random.default_rng(2)) - gt, axis=-1)
    assert np.median(e1[..., 11]) > 1.6 * np.median(e0[..., 11])
    np.testing.assert_allclose(np.median(e1[..., 14]), np.median(e0[..., 14]))


def test_swaps_happen_and_are_more_frequent_when_limbs_overlap():
    gt, depth = _sequence(N=3000)
    det = sd.detect(gt, depth, np.random.default_rng(3))
    d_same = np.linalg.norm(det[..., 3, :] - gt[..., 3, :], axis=-1)
    d_swap = np.linalg.norm(det[..., 3, :] - gt[..., 6, :], axis=-1)
    assert 0.001 < (d_swap + 20 < d_same).mean() < 0.05      # right ankle reported on the left
    scale = np.full(gt.shape[:2], 700.0)
    apart = sd.swap_masks(gt, scale, np.random.default_rng(4))
    side = gt.copy()
    side[..., [4, 5, 6], :] = side[..., [1, 2, 3], :] + 3.0   # profile view: legs overlap
    close = sd.swap_masks(side, scale, np.random.default_rng(4))
    assert close[..., 0].mean() > 3 * apart[..., 0].mean()
    assert (close[..., 2] == apart[..., 2]).all()            # arms unaffected
