"""Evaluation on H36M S9/S11 (P1, P2, per action; no flip) and 3DHP (P1, P2, PCK, AUC; flip
test-time augmentation), FACTS §9. Every metric is a mean over frames, in millimetres."""
from __future__ import annotations

import torch

from function_baseline.pose_set import PoseSet
from utils import metrics
from utils.skeleton import EVAL_JOINTS_14, flip_pose, root_relative

# Fixed, so that --evaluate reproduces the logged numbers whatever --batch_size says.
EVAL_BATCH = 2048


@torch.no_grad()
def predict(model: torch.nn.Module, pose2d: torch.Tensor, flip_tta: bool = False) -> torch.Tensor:
    """Root-relative predictions (N, 16, 3) in metres, in eval mode, batch by batch."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(pose2d), EVAL_BATCH):
        x = pose2d[start:start + EVAL_BATCH]
        y = model(x)
        if flip_tta:
            y = (y + flip_pose(model(flip_pose(x)))) / 2
        out.append(root_relative(y))
    model.train(was_training)
    return torch.cat(out)


def _errors(model: torch.nn.Module, data: PoseSet, flip_tta: bool) -> tuple:
    pred = predict(model, data.pose2d, flip_tta) * 1000
    target = root_relative(data.pose3d) * 1000
    return pred, target, metrics.mpjpe(pred, target), metrics.p_mpjpe(pred, target)


def evaluate_h36m(model: torch.nn.Module, data: PoseSet) -> dict:
    """{'p1', 'p2', 'per_action': {name: {'p1', 'p2'}}, 'p1_action_mean', 'p2_action_mean'}."""
    _, _, p1, p2 = _errors(model, data, flip_tta=False)
    k = len(data.action_names)
    a1 = metrics.per_group_mean(p1, data.action, k)
    a2 = metrics.per_group_mean(p2, data.action, k)
    present = ~torch.isnan(a1)
    per_action = {data.action_names[i]: {"p1": float(a1[i]), "p2": float(a2[i])}
                  for i in range(k) if present[i]}
    return {"p1": float(p1.double().mean()), "p2": float(p2.double().mean()),
            "per_action": per_action,
            "p1_action_mean": float(a1[present].mean()), "p2_action_mean": float(a2[present].mean())}


def evaluate_3dhp(model: torch.nn.Module, data: PoseSet, pck_joints: int = 16) -> dict:
    """{'p1', 'p2', 'pck', 'auc'} with flip TTA; PCK/AUC over 16 joints or the standard 14."""
    pred, target, p1, p2 = _errors(model, data, flip_tta=True)
    joints = EVAL_JOINTS_14 if pck_joints == 14 else None
    err = metrics.joint_errors(pred, target)
    return {"p1": float(p1.double().mean()), "p2": float(p2.double().mean()),
            "pck": float(metrics.pck(err, joints=joints)), "auc": float(metrics.auc(err, joints=joints))}
