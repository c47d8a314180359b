"""Pose-error metrics (docs/evaluation.md#metrics), batched over any leading shape.

Poses are (..., J, 3) in metres or millimetres; errors come back in the same unit. The caller
decides on root alignment (the evaluation makes both poses root-relative first).
"""
from __future__ import annotations

import torch

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = tuple(float(t) for t in torch.linspace(0, 150, 31).tolist())


def joint_errors(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Euclidean error per joint: (..., J, 3) x2 -> (..., J)."""
    return torch.linalg.vector_norm(pred - target, dim=-1)


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error of each pose: (..., J, 3) -> (...)."""
    return joint_errors(pred, target).mean(dim=-1)


def procrustes_align(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Align ``pred`` to ``target`` by the best similarity transform (rotation without
    reflection, uniform scale, translation), per pose. (..., J, 3) -> (..., J, 3).

    Computed in float64 (the SVD of near-degenerate 3x3 matrices is touchy in float32).
    """
    dtype = pred.dtype
    X = target.double()
    Y = pred.double()
    mu_x = X.mean(dim=-2, keepdim=True)
    mu_y = Y.mean(dim=-2, keepdim=True)
    X0 = X - mu_x
    Y0 = Y - mu_y
    norm_x = torch.linalg.matrix_norm(X0).clamp_min(1e-12)[..., None, None]
    norm_y = torch.linalg.matrix_norm(Y0).clamp_min(1e-12)[..., None, None]
    X0 = X0 / norm_x
    Y0 = Y0 / norm_y
    H = X0.transpose(-1, -2) @ Y0                       # (..., 3, 3)
    U, s, Vt = torch.linalg.svd(H)
    V = Vt.transpose(-1, -2)
    # Reflection fix: flip the last singular direction where det(V U^T) < 0.
    sign = torch.sign(torch.linalg.det(V @ U.transpose(-1, -2)))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    fix = torch.ones_like(s)
    fix[..., -1] = sign
    V = V * fix.unsqueeze(-2)
    s = s * fix
    R = V @ U.transpose(-1, -2)
    scale = s.sum(dim=-1)[..., None, None] * norm_x / norm_y
    t = mu_x - scale * (mu_y @ R)
    return (scale * (Y @ R) + t).to(dtype)


def p_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MPJPE after Procrustes alignment of each pose: (..., J, 3) -> (...)."""
    return mpjpe(procrustes_align(pred, target), target.to(pred.dtype))


def pck(errors_mm: torch.Tensor, threshold: float = PCK_THRESHOLD_MM,
        joints: tuple | None = None) -> torch.Tensor:
    """Percentage of joint errors strictly below ``threshold`` (mm) over all given entries.

    errors_mm (..., J); ``joints`` selects a subset such as utils.skeleton.EVAL_JOINTS_14.
    """
    if joints is not None:
        errors_mm = errors_mm[..., list(joints)]
    return (errors_mm < threshold).double().mean() * 100


def auc(errors_mm: torch.Tensor, joints: tuple | None = None) -> torch.Tensor:
    """Mean PCK (%) over the 31 thresholds 0, 5, ..., 150 mm."""
    if joints is not None:
        errors_mm = errors_mm[..., list(joints)]
    thresholds = torch.tensor(AUC_THRESHOLDS_MM, dtype=errors_mm.dtype, device=errors_mm.device)
    below = errors_mm.reshape(-1, 1) < thresholds
    return below.double().mean() * 100


def per_group_mean(values: torch.Tensor, groups: torch.Tensor, num_groups: int) -> torch.Tensor:
    """Mean of ``values`` (N,) within each group index (N,) -> (num_groups,), NaN where empty."""
    values = values.double()
    sums = torch.zeros(num_groups, dtype=values.dtype, device=values.device)
    counts = torch.zeros(num_groups, dtype=values.dtype, device=values.device)
    sums.index_add_(0, groups, values)
    counts.index_add_(0, groups, torch.ones_like(values))
    return sums / counts
