"""Simulated 2D keypoint detector ("detected" 2D of the synthetic dataset).

Errors of a real detector (CPN on H36M) are mimicked by:
- per-joint, heteroscedastic jitter: a base standard deviation per joint type (wrists and
  hips worst, thorax best) as a fraction of the person's image size, inflated for joints
  behind the body (self-occlusion) and in "hard" frames; temporally correlated (AR(1));
- a small constant per-joint bias per sequence and camera;
- occasional left/right swaps of a limb, more likely when the two limbs overlap in the
  image, lasting a few frames;
- rare outliers (a joint jumps by 10-30 % of the person's size).
"""
from __future__ import annotations

import numpy as np

# Base jitter per joint (fraction of the 2D bounding-box diagonal), project joint order:
# Hip RHip RKnee RFoot LHip LKnee LFoot Spine Thorax Head LSho LElb LWri RSho RElb RWri.
BASE_SIGMA = np.array([0.010, 0.012, 0.009, 0.010, 0.012, 0.009, 0.010, 0.011, 0.007, 0.008,
                       0.008, 0.011, 0.014, 0.008, 0.011, 0.014])
TEMPORAL_CORRELATION = 0.6
BIAS_SIGMA = 0.003
OCCLUSION_GAIN = 1.0          # jitter x (1 + gain) for a joint 15 cm or more behind the root
SWAP_BASE_RATE = 0.001        # per frame and limb pair
SWAP_OVERLAP_RATE = 0.01      # extra rate when the two limbs overlap in the image
SWAP_OVERLAP_SCALE = 0.03     # overlap distance scale (fraction of the person's size)
SWAP_MAX_FRAMES = 6
OUTLIER_RATE = 0.002          # per joint and frame
# Limb pairs that may be swapped: (right joints, left joints).
SWAP_PAIRS = (((2, 3), (5, 6)), ((1, 2, 3), (4, 5, 6)), ((14, 15), (11, 12)), ((15,), (12,)))


def _ar1(eps: np.ndarray, rho: float, axis: int) -> np.ndarray:
    """Stationary AR(1) filter of white noise along ``axis`` (unit variance kept):
    y_0 = e_0, y_t = rho * y_(t-1) + sqrt(1 - rho^2) * e_t."""
    b = np.sqrt(1 - rho ** 2)
    x = np.moveaxis(eps, axis, 0).copy()
    x[0] /= b
    from scipy.signal import lfilter     # imported here: ~1 s, needed only when building
    return np.moveaxis(lfilter([b], [1.0, -rho], x, axis=0), 0, axis)


def _active_runs(starts: np.ndarray, lengths: np.ndarray, axis: int) -> np.ndarray:
    """Boolean mask of frames covered by events starting at ``starts`` (bool) and lasting
    ``lengths`` frames, along ``axis`` (a running maximum of the event end times)."""
    idx_shape = [1] * starts.ndim
    idx_shape[axis] = starts.shape[axis]
    t = np.arange(starts.shape[axis]).reshape(idx_shape)
    ends = np.where(starts, t + lengths, -1)
    return np.maximum.accumulate(ends, axis=axis) > t


def swap_masks(gt: np.ndarray, scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frames (V, N, len(SWAP_PAIRS)) in which a limb pair is swapped. A swap starts with a
    rate that grows as the two limbs overlap in the image (gt (V, N, 16, 2), person size
    scale (V, N) px) and lasts 1..SWAP_MAX_FRAMES frames."""
    V, N = gt.shape[:2]
    masks = []
    for right, left in SWAP_PAIRS:
        overlap = np.linalg.norm(gt[:, :, list(right)] - gt[:, :, list(left)], axis=-1).mean(-1)
        rate = SWAP_BASE_RATE + SWAP_OVERLAP_RATE * np.exp(-overlap / (SWAP_OVERLAP_SCALE * scale))
        starts = rng.uniform(size=(V, N)) < rate
        lengths = rng.integers(1, SWAP_MAX_FRAMES + 1, size=(V, N))
        masks.append(_active_runs(starts, lengths, axis=1))
    return np.stack(masks, -1)


def detect(gt: np.ndarray, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy detections of one sequence seen by V cameras.

    gt (V, N, 16, 2) ground-truth pixels; depth (V, N, 16) camera-frame z of the joints (m).
    Returns (V, N, 16, 2) float64 pixels.
    """
    V, N, J, _ = gt.shape
    extent = gt.max(axis=2) - gt.min(axis=2)                              # (V, N, 2)
    scale = np.linalg.norm(extent, axis=-1)[..., None]                    # (V, N, 1)
    behind = np.clip((depth - depth[..., :1]) / 0.15, 0.0, 1.0)
    hard = np.exp(0.25 * _ar1(rng.standard_normal((V, N, 1)), 0.9, axis=1))
    sigma = scale * BASE_SIGMA * (1 + OCCLUSION_GAIN * behind) * hard     # (V, N, 16)
    jitter = _ar1(rng.standard_normal((V, N, J, 2)), TEMPORAL_CORRELATION, axis=1)
    bias = BIAS_SIGMA * rng.standard_normal((V, 1, J, 2))
    det = gt + sigma[..., None] * jitter + scale[..., None] * bias

    on = swap_masks(gt, scale[..., 0], rng)                               # (V, N, pairs)
    for k, (right, left) in enumerate(SWAP_PAIRS):
        r, l = list(right), list(left)
        swapped = det.copy()
        swapped[:, :, r], swapped[:, :, l] = det[:, :, l], det[:, :, r]
        det = np.where(on[..., k, None, None], swapped, det)

    out = rng.uniform(size=(V, N, J)) < OUTLIER_RATE
    angle = rng.uniform(0, 2 * np.pi, size=(V, N, J))
    size = rng.uniform(0.1, 0.3, size=(V, N, J)) * scale
    jump = np.stack([np.cos(angle), np.sin(angle)], -1) * size[..., None]
    return det + np.where(out[..., None], jump, 0.0)
