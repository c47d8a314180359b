"""The 16-joint H36M skeleton used everywhere, its two 15-bone orders, and pose mirroring.

Joint order (root = 0): Hip, RHip, RKnee, RFoot, LHip, LKnee, LFoot, Spine, Thorax, Head,
LShoulder, LElbow, LWrist, RShoulder, RElbow, RWrist.  All functions are batched over any
leading shape and keep the device and dtype of their input.
"""
from __future__ import annotations

import torch

NUM_JOINTS = 16
NUM_BONES = 15

JOINT_NAMES = (
    "Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax", "Head",
    "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
)
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14)
JOINTS_LEFT = (4, 5, 6, 10, 11, 12)
JOINTS_RIGHT = (1, 2, 3, 13, 14, 15)

# Permutation that swaps every left joint with its right counterpart.
FLIP_PERMUTATION = tuple(
    JOINTS_RIGHT[JOINTS_LEFT.index(j)] if j in JOINTS_LEFT
    else JOINTS_LEFT[JOINTS_RIGHT.index(j)] if j in JOINTS_RIGHT
    else j
    for j in range(NUM_JOINTS)
)

# Raw H36M 32-joint skeleton (data_3d_h36m.npz) and the 32 -> 16 selection.
H36M32_PARENTS = (-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19,
                  22, 12, 24, 25, 26, 27, 28, 27, 30)
H36M32_TO_16 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 15, 17, 18, 19, 25, 26, 27)
# VideoPose3D 17-joint detections: drop index 9 (Neck/Nose).
COCO17_NECK_NOSE = 9
H36M17_TO_16 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16)
KEYPOINTS_SYMMETRY_16 = [list(JOINTS_LEFT), list(JOINTS_RIGHT)]

# FK / discriminator bone order: (parent, child), bone vector = child - parent.
FK_BONES = ((5, 6), (2, 3), (4, 5), (1, 2), (0, 4), (0, 1), (0, 7), (7, 8), (8, 10), (8, 13),
            (10, 11), (13, 14), (11, 12), (14, 15), (8, 9))
FK_BONE_NAMES = ("left shin", "right shin", "left thigh", "right thigh", "left hip", "right hip",
                 "waist", "thorax", "left shoulder", "right shoulder", "left upper arm",
                 "right upper arm", "left forearm", "right forearm", "neck/head")
# Scale group of each FK bone (-1: never scaled).
FK_SCALE_GROUPS = (0, 0, 1, 1, 2, 2, 3, -1, 4, 4, 5, 5, 6, 6, 7)
NUM_SCALE_GROUPS = 8

# Template / PoseAug order: bone k ends at joint k + 1.
TEMPLATE_BONES = tuple((PARENTS[j], j) for j in range(1, NUM_JOINTS))
TEMPLATE_BONE_NAMES = ("RHip", "RThigh", "RShin", "LHip", "LThigh", "LShin", "Waist", "Thorax",
                       "Head", "LShoulder", "LUpperArm", "LForearm", "RShoulder", "RUpperArm",
                       "RForearm")
# Column k of the template order is FK bone TEMPLATE_TO_FK[k]; FK bone b is template column FK_TO_TEMPLATE[b].
TEMPLATE_TO_FK = (5, 3, 1, 4, 2, 0, 6, 7, 14, 8, 10, 12, 9, 11, 13)
FK_TO_TEMPLATE = tuple(TEMPLATE_TO_FK.index(b) for b in range(NUM_BONES))

# Standard 3DHP 14-joint evaluation set (no Hip, no Spine).
EVAL_JOINTS_14 = (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15)

# Integer index tensors are cached per device to keep hot paths free of host->device copies.
_INDEX_CACHE: dict = {}


def _index(values: tuple, device: torch.device) -> torch.Tensor:
    key = (values, device)
    idx = _INDEX_CACHE.get(key)
    if idx is None:
        idx = torch.as_tensor(values, dtype=torch.long, device=device)
        _INDEX_CACHE[key] = idx
    return idx


def _bone_endpoints(order: str) -> tuple[tuple, tuple]:
    if order == "fk":
        bones = FK_BONES
    elif order == "template":
        bones = TEMPLATE_BONES
    else:
        raise ValueError(f"bone order must be 'fk' or 'template', got {order!r}")
    return tuple(p for p, _ in bones), tuple(c for _, c in bones)


def bone_vectors(pose: torch.Tensor, order: str = "fk") -> torch.Tensor:
    """Bone vectors child - parent. pose (..., 16, D) -> (..., 15, D)."""
    parents, children = _bone_endpoints(order)
    return (pose.index_select(-2, _index(children, pose.device))
            - pose.index_select(-2, _index(parents, pose.device)))


def bone_lengths(pose: torch.Tensor, order: str = "fk") -> torch.Tensor:
    """Bone lengths. pose (..., 16, 3) -> (..., 15), in the units of the pose."""
    return torch.linalg.vector_norm(bone_vectors(pose, order), dim=-1)


def fk_to_template_order(x: torch.Tensor) -> torch.Tensor:
    """Reorder the last axis (15 bones) from FK order to template order."""
    return x.index_select(-1, _index(TEMPLATE_TO_FK, x.device))


def template_to_fk_order(x: torch.Tensor) -> torch.Tensor:
    """Reorder the last axis (15 bones) from template order to FK order."""
    return x.index_select(-1, _index(FK_TO_TEMPLATE, x.device))


def pose_from_bones(bones: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
    """Rebuild joints from template-order bone vectors (..., 15, D) and a root (..., D).

    Every joint is its parent plus its bone; done as one matmul with the constant
    ancestor matrix so there is no loop over joints.
    """
    anc = ancestor_matrix("template", bones.device, bones.dtype)  # (16, 15)
    return root.unsqueeze(-2) + torch.matmul(anc, bones)


def ancestor_matrix(order: str, device: torch.device | None = None,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(16, 15) 0/1 matrix: entry (j, b) is 1 when bone b (in ``order``) lies on the path from
    the root to joint j, so ``joints = root + A @ bones``. Cached per order, device and dtype."""
    key = ("anc", order, device, dtype)
    m = _INDEX_CACHE.get(key)
    if m is None:
        _, children = _bone_endpoints(order)
        bone_of_child = {c: b for b, c in enumerate(children)}
        m = torch.zeros(NUM_JOINTS, NUM_BONES, dtype=dtype)
        for j in range(1, NUM_JOINTS):
            k = j
            while k > 0:
                m[j, bone_of_child[k]] = 1.0
                k = PARENTS[k]
        m = m.to(device)
        _INDEX_CACHE[key] = m
    return m


def flip_pose(pose: torch.Tensor) -> torch.Tensor:
    """Mirror a 2D or 3D pose (..., 16, D): negate x, then swap left and right joints."""
    sign = torch.ones(pose.shape[-1], dtype=pose.dtype, device=pose.device)
    sign[0] = -1
    return (pose * sign).index_select(-2, _index(FLIP_PERMUTATION, pose.device))


def root_relative(pose: torch.Tensor) -> torch.Tensor:
    """Subtract the root joint: (..., J, D) -> (..., J, D)."""
    return pose - pose[..., :1, :]
