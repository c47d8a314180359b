"""Inverse kinematics of the DH model: fit angles, global rotation and root to 16-joint poses.

Bone lengths are taken from the pose itself, so only directions are fitted.  Real H36M
skeletons are not exactly representable (the model's hips and shoulders are collinear with
Hip / Thorax, H36M's are not), so this is a batched least-squares problem, solved by
Levenberg-Marquardt with an analytic Jacobian, from an analytic start, in stages:

1. pelvis frame from the hip line and the spine (the global rotation), then the 12 body
   angles on the torso joints (Hip, hips, Spine, Thorax, Head, shoulders);
2. every limb in closed form from its base frame: the frame after its link 2 has x along the
   upper bone and the lower bone in its xy plane with the *natural* bend (knees flex backward,
   elbows forward); its three angles are that frame's proper Euler angles, its hinge angle
   the signed bend;
3. all parameters on all joints, then a polish with a 100x weaker ridge.

The global rotation is optimised as a matrix with multiplicative updates (no gimbal lock) and
returned as the x-y-z Euler angles of ``forward_kinematics``.

Redundancy.  Several DOF do not move any joint: the pelvis pitch about the hip line (the hips
lie on that axis; body and leg angles compensate), the twist of a straight limb, the split of
a bend over the three links of a spine/thorax/neck segment, the head's twist.  Conventions pin
them: the pelvis y axis is kept orthogonal to Hip -> Spine (weight ``pitch_weight``, so the
pelvis frame follows the spine, as the analytic start), and a ridge ``regularization·|angles in
rad|²`` picks the smallest angles among equivalent ones.  The ridge slightly biases the fit,
hence the polish stage, in which the observable directions settle while the redundant ones
barely move.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch

from models import dh_tables as T
from models.dh_kinematics import forward_kinematics, frame_rotation, link_frames
from utils import skeleton

# (chain, proximal / middle / distal joint, FK bone of the upper segment, natural hinge sign):
# knees flex with negative angles, elbows with positive ones (docs/dh_model.md#dh-tables).
_LIMBS = ((T.CHAIN_NAMES.index("RLeg"), (1, 2, 3), 3, -1.0),
          (T.CHAIN_NAMES.index("LLeg"), (4, 5, 6), 2, -1.0),
          (T.CHAIN_NAMES.index("RArm"), (13, 14, 15), 11, 1.0),
          (T.CHAIN_NAMES.index("LArm"), (10, 11, 12), 10, 1.0))
_TORSO_JOINTS = (0, 1, 4, 7, 8, 9, 10, 13)
_NUM_PARAMS = T.NUM_ANGLES + 6   # angles (rad), rotation increment (rad), root (m)


def _normalize(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


def _skew(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 3, 3) cross-product matrices, skew(a) @ b = a x b."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([torch.stack(r, -1) for r in ((o, -z, y), (z, o, -x), (-y, x, o))], -2)


def pelvis_frame(poses: torch.Tensor) -> torch.Tensor:
    """World rotation (..., 3, 3) of the pelvis from a pose (..., 16, 3): x along LHip -> RHip,
    z along Hip -> Spine made orthogonal to x, y = z x x (the model's rest frame is identity)."""
    x = _normalize(poses[..., 1, :] - poses[..., 4, :])
    up = poses[..., 7, :] - poses[..., 0, :]
    z = _normalize(up - (up * x).sum(-1, keepdim=True) * x)
    return torch.stack([x, torch.linalg.cross(z, x), z], -1)


def euler_xyz(rot: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation -> (..., 3) degrees (x, y, z) with rot = Rx·Ry·Rz.

    At gimbal lock (y = ±90) only x ± z is defined; z is then set to 0."""
    sb = rot[..., 0, 2].clamp(-1.0, 1.0)
    b = torch.asin(sb)
    locked = (1 - sb.abs()) < 1e-12
    a = torch.where(locked, torch.atan2(torch.sign(sb) * rot[..., 1, 0], rot[..., 1, 1]),
                    torch.atan2(-rot[..., 1, 2], rot[..., 2, 2]))
    c = torch.where(locked, torch.zeros_like(b), torch.atan2(-rot[..., 0, 1], rot[..., 0, 0]))
    return torch.rad2deg(torch.stack([a, b, c], -1))


def wrap_degrees(x: torch.Tensor) -> torch.Tensor:
    """Wrap angles to [-180, 180)."""
    return torch.remainder(x + 180.0, 360.0) - 180.0


# --------------------------------------------------------------------------- limbs
def _limb_euler(q: torch.Tensor, chain: int) -> torch.Tensor:
    """Angles (..., 3) in degrees of links 0-2 of ``chain`` whose product of link rotations is
    ``q`` (..., 3, 3), on the branch that contains the rest pose.

    RotX(a0)·RotZ(p0)·RotX(a1)·RotZ(p1)·RotX(a2)·RotZ(p2) = Rot(u0,p0)·Rot(u1,p1)·Rot(u2,p2)·RotX(a0+a1+a2)
    with u_k = RotX(a0+..+ak)·e_z = s_k·e(axis_k); for the limbs axis_0 = axis_2 (proper Euler).
    """
    alpha = T.CHAINS[chain].alpha[:3]
    offsets = T.CHAINS[chain].theta0[:3]
    axes, signs, cum = [], [], 0
    for a in alpha:
        cum += a
        u = (0.0, -math.sin(math.radians(cum)), math.cos(math.radians(cum)))
        k = max(range(3), key=lambda i: abs(u[i]))
        axes.append(k)
        signs.append(1.0 if u[k] > 0 else -1.0)
    p, qa = axes[0], axes[1]
    assert axes[2] == p and qa != p, "limb links 0-2 must form proper Euler angles"
    r = 3 - p - qa
    eps = 1.0 if (p, qa, r) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    total = math.radians(sum(alpha))
    ct, st = round(math.cos(total)), round(math.sin(total))
    rx_total_t = q.new_tensor([[1, 0, 0], [0, ct, st], [0, -st, ct]])   # RotX(total)^T
    m = q @ rx_total_t
    # Branch: the sign of sin(psi1) at the rest pose (theta1 = 0).
    branch = math.copysign(1.0, math.sin(signs[1] * math.radians(offsets[1])))
    s_mid = branch * torch.sqrt(m[..., qa, p] ** 2 + m[..., r, p] ** 2)
    psi1 = torch.atan2(s_mid, m[..., p, p])
    psi0 = torch.atan2(branch * m[..., qa, p], -eps * branch * m[..., r, p])
    psi2 = torch.atan2(branch * m[..., p, qa], eps * branch * m[..., p, r])
    phi = torch.stack([psi0 * signs[0], psi1 * signs[1], psi2 * signs[2]], -1)
    return wrap_degrees(torch.rad2deg(phi) - phi.new_tensor(offsets))


def _rest_limb_frame(chain: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(3, 3) rotation of a limb's link-2 frame relative to its base frame at the rest pose."""
    zero_a = torch.zeros(T.NUM_ANGLES, dtype=dtype, device=device)
    zero_g = torch.zeros(3, dtype=dtype, device=device)
    limb = frame_rotation(zero_a, zero_g, chain, 2)
    base = T.CHAINS[chain].base
    if base is None:
        return limb
    return frame_rotation(zero_a, zero_g, *base).transpose(-1, -2) @ limb


def _limb_start(poses: torch.Tensor, model: torch.Tensor, base: torch.Tensor, chain: int,
                joints: tuple, natural: float, upper_length: torch.Tensor) -> torch.Tensor:
    """Closed-form angles (N, 4) of links 0-3 of a limb with base frame ``base`` (N, 3, 3).

    The upper bone starts at the *model's* proximal joint (``model`` pose) and points at the
    real middle joint; the lower bone starts at the resulting model middle joint and points at
    the real distal joint; the bend goes to the natural side, and for a straight limb the
    bending plane of the rest pose is kept."""
    proximal, middle, distal = joints
    start = model[..., proximal, :]
    u = _normalize(poses[..., middle, :] - start)
    mid = start + upper_length.unsqueeze(-1) * u
    f = _normalize(poses[..., distal, :] - mid)
    bt = base.transpose(-1, -2)
    u_b = (bt @ u.unsqueeze(-1)).squeeze(-1)
    f_b = (bt @ f.unsqueeze(-1)).squeeze(-1)
    perp = f_b - (f_b * u_b).sum(-1, keepdim=True) * u_b
    # Fallback plane for a straight limb: the rest frame's y axis, made orthogonal.
    rest_y = _rest_limb_frame(chain, poses.dtype, poses.device)[:, 1]
    rest_y = rest_y - (rest_y * u_b).sum(-1, keepdim=True) * u_b
    y = _normalize(natural * perp + 0.05 * rest_y)
    q = torch.stack([u_b, y, torch.linalg.cross(u_b, y)], -1)
    hinge = torch.rad2deg(torch.atan2((f_b * y).sum(-1), (f_b * u_b).sum(-1)))
    return torch.cat([_limb_euler(q, chain), hinge.unsqueeze(-1)], -1)


# --------------------------------------------------------------------------- LM
def _local_pose(angles_rad: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    zero = angles_rad.new_zeros(angles_rad.shape[:-1] + (3,))
    return forward_kinematics(torch.rad2deg(angles_rad), lengths, zero, zero)


@functools.lru_cache(maxsize=None)
def _joint_links() -> tuple[tuple[int, ...], tuple[tuple[bool, ...], ...]]:
    """Link index (0..32) whose frame gives each joint 1..15, and the (16, 33) table of which
    links move which joint (the links on the path from the pelvis to the joint's frame)."""
    def parent(ci, k):
        if k > 0:
            return ci, k - 1
        return T.CHAINS[ci].base

    frame_of = [T.CHAIN_OFFSETS[ci] + k for ci, k in (T.JOINT_FRAMES[j] for j in range(1, 16))]
    moves = [[False] * T.NUM_ANGLES]
    for j in range(1, skeleton.NUM_JOINTS):
        row = [False] * T.NUM_ANGLES
        node = T.JOINT_FRAMES[j]
        while node is not None:
            row[T.CHAIN_OFFSETS[node[0]] + node[1]] = True
            node = parent(*node)
        moves.append(row)
    return tuple(frame_of), tuple(tuple(r) for r in moves)


def _local_pose_and_jacobian(angles_rad: torch.Tensor, lengths: torch.Tensor
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Local pose (N, 16, 3) and its Jacobian (N, 16, 3, 33) w.r.t. the angles in radians.

    Revolute joints: link k turns everything after it about its z axis z_k through its origin
    o_k, so d p_j / d theta_k = z_k x (p_j - o_k) for the joints j it moves, else 0.
    """
    frame_of, moves = _joint_links()
    frames = link_frames(torch.rad2deg(angles_rad), lengths)              # (N, 33, 4, 4)
    axis, origin = frames[..., :3, 2], frames[..., :3, 3]                 # (N, 33, 3)
    pose = origin[:, list(frame_of)]
    pose = torch.cat([torch.zeros_like(pose[:, :1]), pose], 1)            # Hip at the origin
    arm = pose.unsqueeze(2) - origin.unsqueeze(1)                          # (N, 16, 33, 3)
    jac = torch.linalg.cross(axis.unsqueeze(1).expand_as(arm), arm)
    jac = jac * torch.tensor(moves, dtype=jac.dtype, device=jac.device).unsqueeze(-1)
    return pose, jac.transpose(-1, -2)


class _Problem(NamedTuple):
    """What LM fits: target poses (N, 16, 3), their FK bone lengths (N, 15), joint weights (16,),
    the angle ridge (per rad²), and the pelvis-pitch prior: unit Hip -> Spine directions
    (N, 3) that the pelvis y axis should be orthogonal to, with its weight (m²)."""
    target: torch.Tensor
    lengths: torch.Tensor
    weights: torch.Tensor
    reg: float
    spine: torch.Tensor
    pitch_weight: float

    def subset(self, index: torch.Tensor) -> "_Problem":
        return self._replace(target=self.target[index], lengths=self.lengths[index],
                             spine=self.spine[index])


def _cost(prob: _Problem, angles: torch.Tensor, rot: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
    pose = _local_pose(angles, prob.lengths) @ rot.transpose(-1, -2) + root.unsqueeze(-2)
    err = (((pose - prob.target) ** 2).sum(-1) * prob.weights).sum(-1)
    pitch = (prob.spine * rot[..., 1]).sum(-1)                  # spine . (pelvis y axis)
    return err + prob.reg * (angles ** 2).sum(-1) + prob.pitch_weight * pitch ** 2


def _lm_step(prob: _Problem, angles, rot, root, mu):
    """One damped Gauss-Newton step for every sample; returns the trial point and its cost."""
    n = prob.target.shape[0]
    eye = torch.eye(_NUM_PARAMS, dtype=angles.dtype, device=angles.device)
    sw = prob.weights.sqrt().repeat_interleave(3)                             # (48,)
    local, j_local = _local_pose_and_jacobian(angles, prob.lengths)
    pose = local @ rot.transpose(-1, -2) + root.unsqueeze(-2)
    j_ang = torch.einsum("nab,njbk->njak", rot, j_local)                      # (N,16,3,33)
    j_rot = -rot.unsqueeze(1) @ _skew(local)                                  # (N,16,3,3)
    j_root = eye[:3, :3].expand(n, skeleton.NUM_JOINTS, 3, 3)
    jac = torch.cat([j_ang, j_rot, j_root], -1).reshape(n, 48, _NUM_PARAMS) * sw[:, None]
    res = (pose - prob.target).reshape(n, 48) * sw
    # Pelvis-pitch prior row: d/d(omega) of spine . R Exp(omega) e_y = e_y x (R^T spine).
    pw = math.sqrt(prob.pitch_weight)
    spine_local = (rot.transpose(-1, -2) @ prob.spine.unsqueeze(-1)).squeeze(-1)
    e_y = eye[1, :3].expand_as(spine_local)
    j_pitch = torch.zeros(n, 1, _NUM_PARAMS, dtype=angles.dtype, device=angles.device)
    j_pitch[:, 0, T.NUM_ANGLES:T.NUM_ANGLES + 3] = pw * torch.linalg.cross(e_y, spine_local)
    jac = torch.cat([jac, j_pitch], 1)
    res = torch.cat([res, pw * spine_local[:, 1:2]], 1)
    grad = jac.transpose(1, 2) @ res.unsqueeze(-1)
    hess = jac.transpose(1, 2) @ jac
    grad[:, :T.NUM_ANGLES, 0] += prob.reg * angles
    hess[:, :T.NUM_ANGLES, :T.NUM_ANGLES] += prob.reg * eye[:T.NUM_ANGLES, :T.NUM_ANGLES]
    diag = torch.diagonal(hess, dim1=-2, dim2=-1)
    step = -torch.linalg.solve(hess + (mu[:, None] * (diag + 1e-9))[..., None] * eye, grad).squeeze(-1)
    new_angles = angles + step[:, :T.NUM_ANGLES]
    new_rot = rot @ torch.linalg.matrix_exp(_skew(step[:, T.NUM_ANGLES:T.NUM_ANGLES + 3]))
    new_root = root + step[:, T.NUM_ANGLES + 3:]
    return new_angles, new_rot, new_root, _cost(prob, new_angles, new_rot, new_root)


def _levenberg_marquardt(prob: _Problem, angles, rot, root, iterations: int, tol: float = 1e-6):
    """Batched Levenberg-Marquardt on (angles rad (N,33), rotation (N,3,3), root (N,3)).

    Per-sample damping; a sample stops once an accepted step gains less than ``tol`` of its
    cost (or its damping explodes), and only the samples still running are computed.
    """
    n = prob.target.shape[0]
    angles, rot, root = angles.clone(), rot.clone(), root.clone()
    mu = angles.new_full((n,), 1e-3)
    cost = _cost(prob, angles, rot, root)
    active = torch.arange(n, device=angles.device)
    for _ in range(iterations):
        a, r, t, c, m = angles[active], rot[active], root[active], cost[active], mu[active]
        new_a, new_r, new_t, new_c = _lm_step(prob.subset(active), a, r, t, m)
        better = new_c < c
        angles[active] = torch.where(better[:, None], new_a, a)
        rot[active] = torch.where(better[:, None, None], new_r, r)
        root[active] = torch.where(better[:, None], new_t, t)
        cost[active] = torch.where(better, new_c, c)
        mu[active] = torch.where(better, m * 0.3, m * 10.0).clamp(1e-9, 1e9)
        done = (better & (c - new_c <= tol * c)) | (m >= 1e6)
        active = active[~done]
        if active.numel() == 0:
            break
    return angles, rot, root


@torch.no_grad()
def inverse_kinematics(poses: torch.Tensor, iterations: int = 50, torso_iterations: int = 15,
                       polish_iterations: int = 50, regularization: float = 1e-4,
                       pitch_weight: float = 1e-3
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit the DH model to poses (..., 16, 3) (metres, world frame, z up).

    Returns ``(angles (..., 33), global_rot (..., 3), root (..., 3), residual (..., 16))``:
    angles and global rotation in degrees wrapped to [-180, 180), ready for
    ``forward_kinematics(angles, bone_lengths(poses, 'fk'), global_rot, root)``, whose per-joint
    distance to ``poses`` (metres) is ``residual``.  Computed in float64, returned in the
    input's floating dtype.  ``regularization`` (m² per rad²) and ``pitch_weight`` (m²) weigh
    the conventions for redundant DOF against the squared joint errors (m²); the iteration
    counts cap the three LM stages (each sample stops when it has converged).
    """
    if not isinstance(poses, torch.Tensor) or poses.ndim < 2 or poses.shape[-2:] != (skeleton.NUM_JOINTS, 3):
        raise ValueError("inverse_kinematics: poses must be a tensor (..., 16, 3); got "
                         f"{tuple(poses.shape) if isinstance(poses, torch.Tensor) else type(poses).__name__}")
    out_dtype = poses.dtype if poses.dtype.is_floating_point else torch.get_default_dtype()
    lead = poses.shape[:-2]
    target = poses.detach().reshape(-1, skeleton.NUM_JOINTS, 3).to(torch.float64)
    n = target.shape[0]
    lengths = skeleton.bone_lengths(target, "fk")

    # Stage 1: pelvis frame, then the body angles on the torso joints.
    spine = _normalize(target[:, 7] - target[:, 0])
    torso = target.new_zeros(skeleton.NUM_JOINTS)
    torso[list(_TORSO_JOINTS)] = 1.0
    prob = _Problem(target, lengths, torso, regularization, spine, pitch_weight)
    angles, rot, root = _levenberg_marquardt(prob, target.new_zeros(n, T.NUM_ANGLES),
                                             pelvis_frame(target), target[:, 0], torso_iterations)

    # Stage 2: limbs in closed form from the fitted torso.
    model = _local_pose(angles, lengths) @ rot.transpose(-1, -2) + root.unsqueeze(-2)
    angles_deg = torch.rad2deg(angles)
    for chain, joints, upper_bone, natural in _LIMBS:
        base = rot
        if T.CHAINS[chain].base is not None:
            base = rot @ frame_rotation(angles_deg, target.new_zeros(3), *T.CHAINS[chain].base)
        first = T.CHAIN_OFFSETS[chain]
        angles_deg[:, first:first + 4] = _limb_start(target, model, base, chain, joints, natural,
                                                     lengths[:, upper_bone])
    angles = torch.deg2rad(angles_deg)

    # Stage 3: everything on every joint; then a polish with a 100x weaker ridge, which lets
    # the observable directions settle exactly while the redundant ones stay where the ridge
    # put them (their curvature is only the ridge's, so they barely move).
    prob = prob._replace(weights=target.new_ones(skeleton.NUM_JOINTS))
    angles, rot, root = _levenberg_marquardt(prob, angles, rot, root, iterations)
    angles, rot, root = _levenberg_marquardt(prob._replace(reg=regularization / 100), angles, rot,
                                             root, polish_iterations)

    angles_deg = wrap_degrees(torch.rad2deg(angles))
    glob_deg = euler_xyz(rot)
    fitted = forward_kinematics(angles_deg, lengths, glob_deg, root)
    residual = (fitted - target).norm(dim=-1)

    def shape(x: torch.Tensor, k: int) -> torch.Tensor:
        return x.reshape(lead + (k,)).to(out_dtype)

    return (shape(angles_deg, T.NUM_ANGLES), shape(glob_deg, 3), shape(root, 3),
            shape(residual, skeleton.NUM_JOINTS))
