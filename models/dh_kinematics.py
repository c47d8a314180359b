"""Batched, differentiable forward kinematics of the DH human model
(docs/dh_model.md#forward-kinematics).

``forward_kinematics`` is the training path.  Instead of multiplying 4x4 link matrices it
carries only the rotation *columns* some bone needs.  Every link is ``RotX(alpha)·RotZ(theta)``
with alpha in {0, ±90}: ``W·RotX(alpha)`` is a signed column permutation (free, resolved when
the plan is built) and ``·RotZ(theta)`` mixes two columns (one ``addcmul`` each).  A bone is
``±length · column`` (``a`` along the x axis of the frame before its link, ``d`` along the z
axis of its link's frame), and the joints are the root plus an ancestor sum of bones (one
matmul).  The straight-line program of column updates is derived once from the tables in
``models.dh_tables``, so the arms reuse the body prefix and only 46 column updates remain;
sin/cos are taken once for all angles; columns are (3, n) tensors with the batch last.  When a
graph is needed the program runs as one autograd node with a hand-written backward.

``forward_kinematics_autograd`` is the same computation in plain ops (torch.func-friendly),
``forward_kinematics_reference`` the literal 4x4 transcription (tests, benchmarks), and
``link_frames`` / ``frame_rotation`` expose the frames for inverse kinematics.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch

from models import dh_tables as T
from utils import skeleton

_G = "G"  # the pelvis frame after the global rotation


class _Plan(NamedTuple):
    # Steps (cos row, col_a, sin row, col_b, sign): new column = cos*col_a + sign*sin*col_b,
    # rows index trig = [cos; sin] of the angles in ``used_angles``.
    program: tuple
    used_angles: tuple  # link angles that move some joint (28 of 33), in angle-vector order
    bone_cols: tuple    # column index of each FK bone's direction
    bone_signs: tuple   # sign of each FK bone's DH parameter times its column sign


@functools.lru_cache(maxsize=None)
def _plan() -> _Plan:
    """Derive, once, the straight-line program computing the needed rotation columns.

    Columns are tracked symbolically as (computed column, sign), so signed permutations and
    negations cost nothing at run time.
    """
    program: list = []
    memo: dict = {(_G, j): (j, 1) for j in range(3)}  # columns 0..2 = pelvis frame G

    def parent(frame):
        ci, k = frame
        if k > 0:
            return (ci, k - 1)
        return _G if T.CHAINS[ci].base is None else T.CHAINS[ci].base

    def column(frame, j):
        """(column index, sign) of column j of the cumulative rotation of ``frame``."""
        if (frame, j) in memo:
            return memo[frame, j]
        ci, k = frame
        p = parent(frame)
        alpha = T.CHAINS[ci].alpha[k]
        # Columns of W_parent·RotX(alpha) as (parent column, sign).
        n = {0: ((0, 1), (1, 1), (2, 1)), 90: ((0, 1), (2, 1), (1, -1)),
             -90: ((0, 1), (2, -1), (1, 1))}[alpha]
        if j == 2:  # RotZ leaves the z column alone
            col, sign = column(p, n[2][0])
            out = (col, sign * n[2][1])
        else:
            ia, sa = column(p, n[0][0])
            ib, sb = column(p, n[1][0])
            sa, sb = sa * n[0][1], sb * n[1][1]
            t = T.CHAIN_OFFSETS[ci] + k
            if j == 0:    # c·N0 + s·N1 = sa·(c·A + sa·sb·s·B)
                program.append((t, ia, t, ib, sa * sb))
                out = (len(program) + 2, sa)
            else:         # -s·N0 + c·N1 = sb·(c·B - sa·sb·s·A)
                program.append((t, ib, t, ia, -sa * sb))
                out = (len(program) + 2, sb)
        memo[frame, j] = out
        return out

    bone_cols = [0] * skeleton.NUM_BONES
    bone_signs = [0] * skeleton.NUM_BONES
    for ci, chain in enumerate(T.CHAINS):
        for link, kind, b, sign in chain.bones:
            # a: translation along the x axis of the frame *before* the link; d: along its own z.
            col, csign = column(parent((ci, link)), 0) if kind == "a" else column((ci, link), 2)
            bone_cols[b], bone_signs[b] = col, sign * csign
    used = sorted({step[0] for step in program})
    row = {t: i for i, t in enumerate(used)}
    program = [(row[t], ja, len(used) + row[t], jb, sign) for t, ja, _, jb, sign in program]
    return _Plan(tuple(program), tuple(used), tuple(bone_cols), tuple(bone_signs))


@functools.lru_cache(maxsize=None)
def _constants(device: torch.device, dtype: torch.dtype
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices of the used angles (U,), their theta offsets (U,), bone signs (15,), and the
    (15, 16) bone -> joint ancestor matrix."""
    used = torch.tensor(_plan().used_angles)
    theta0 = torch.tensor(T.THETA0, dtype=dtype)[used]
    signs = torch.tensor(_plan().bone_signs, dtype=dtype)
    anc = skeleton.ancestor_matrix("fk", dtype=dtype).t().contiguous()
    return used.to(device), theta0.to(device), signs.to(device), anc.to(device)


def _flatten_inputs(angles, bone_lengths, global_rot, root):
    """Check last dims, broadcast the leading shapes and flatten them to one batch axis."""
    named = (("angles", angles, T.NUM_ANGLES), ("bone_lengths", bone_lengths, skeleton.NUM_BONES),
             ("global_rot", global_rot, 3), ("root", root, 3))
    for name, x, k in named:
        if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != k:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"forward_kinematics: {name} must be a tensor (..., {k}); got {shape}")
    tensors = (angles, bone_lengths, global_rot, root)
    lead = torch.broadcast_shapes(*(x.shape[:-1] for x in tensors))
    dtype = functools.reduce(torch.promote_types, (x.dtype for x in tensors))
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    n = math.prod(lead)
    flat = []
    for x, (_, _, k) in zip(tensors, named):
        x = x.to(dtype)
        if x.shape[:-1] != lead:
            x = x.expand(lead + (k,))
        flat.append(x.reshape(n, k))
    return lead, flat


# Layout: a rotation column is a (3, n) tensor (batch last), so per-sample coefficients are
# (1, n) rows and dot products reduce over a middle axis of size 3, both cheap on CPU.

def _run_program(trig: torch.Tensor, g0: torch.Tensor, g1: torch.Tensor,
                 g2: torch.Tensor) -> torch.Tensor:
    """Bone directions (15, 3, n) with plain, differentiable ops.

    trig (2U, n) = [cos; sin] of the used link angles; g0..g2 (3, n) = pelvis frame columns.
    """
    coef = trig.unsqueeze(1).unbind(0)
    cols = [g0, g1, g2]
    for kc, ja, ks, jb, sign in _plan().program:
        cols.append(torch.addcmul(coef[kc] * cols[ja], coef[ks], cols[jb], value=sign))
    return torch.stack([cols[i] for i in _plan().bone_cols], 0)


def _run_program_in_place(trig: torch.Tensor, g0: torch.Tensor, g1: torch.Tensor,
                          g2: torch.Tensor) -> torch.Tensor:
    """Every column of the plan (C, 3, n), written into one buffer with in-place ops
    (no autograd): the 3 pelvis columns, then one per program step."""
    program = _plan().program
    buf = g0.new_zeros((len(program) + 3,) + tuple(g0.shape))
    cols = buf.unbind(0)
    for col, g in zip(cols, (g0, g1, g2)):
        col.copy_(g)
    coef = trig.unsqueeze(1).unbind(0)
    for step, (kc, ja, ks, jb, sign) in enumerate(program):
        cols[step + 3].addcmul_(coef[kc], cols[ja]).addcmul_(coef[ks], cols[jb], value=sign)
    return buf


@functools.lru_cache(maxsize=None)
def _program_indices(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index tensors of the plan: bone columns (15,); for the cos/sin factors of every step,
    in the order [cos factors..., sin factors...], their trig rows (2P,) and signs (2P,)."""
    program = _plan().program
    bones = torch.tensor(_plan().bone_cols)
    rows = torch.tensor([p[0] for p in program] + [p[2] for p in program])
    signs = torch.tensor([1.0] * len(program) + [float(p[4]) for p in program])
    return bones.to(device), rows.to(device), signs.to(device)


class _ColumnProgram(torch.autograd.Function):
    """The column program as one autograd node: (trig (2U, n), g0, g1, g2) -> directions (15, 3, n).

    All columns live in one buffer (C, 3, n), written in place, so the hand-written backward
    is a reverse walk with, per step, two in-place ``addcmul_`` (column gradients) and two
    ``vecdot`` into a preallocated table (cos/sin gradients, summed by one ``index_add_``);
    plain autograd runs about eight small nodes per step and allocates every temporary.
    For double backward it differentiates the plain-op program instead.
    """

    @staticmethod
    def forward(ctx, trig, g0, g1, g2):
        buf = _run_program_in_place(trig, g0, g1, g2)
        ctx.save_for_backward(trig, g0, g1, g2, buf)
        return buf.index_select(0, _program_indices(trig.device)[0])

    @staticmethod
    def backward(ctx, grad_dirs):
        trig, g0, g1, g2, buf = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate the plain-op version
            inputs = (trig, g0, g1, g2)
            wanted = [t for t in inputs if t.requires_grad]
            with torch.enable_grad():
                got = iter(torch.autograd.grad(_run_program(*inputs), wanted, grad_dirs,
                                               create_graph=True))
            return tuple(next(got) if t.requires_grad else None for t in inputs)
        program = _plan().program
        bone_idx, rows, signs = _program_indices(trig.device)
        coef = trig.unsqueeze(1).unbind(0)
        cols = buf.unbind(0)
        grads_buf = torch.zeros_like(buf).index_add_(0, bone_idx, grad_dirs)
        grads = grads_buf.unbind(0)
        p = len(program)
        dots = trig.new_empty(2 * p, trig.shape[1])   # <operand, grad out> per cos/sin factor
        dot_rows = dots.unbind(0)
        for step in range(p - 1, -1, -1):
            kc, ja, ks, jb, sign = program[step]
            g = grads[step + 3]
            torch.linalg.vecdot(cols[ja], g, dim=0, out=dot_rows[step])
            torch.linalg.vecdot(cols[jb], g, dim=0, out=dot_rows[p + step])
            grads[ja].addcmul_(coef[kc], g)
            grads[jb].addcmul_(coef[ks], g, value=sign)
        dots *= signs.to(trig.dtype).unsqueeze(-1)
        grad_trig = torch.zeros_like(trig).index_add_(0, rows, dots)
        return grad_trig, grads[0], grads[1], grads[2]


def _forward(angles, bone_lengths, global_rot, root, fused_backward: bool) -> torch.Tensor:
    lead, (ang, lengths, grot, rt) = _flatten_inputs(angles, bone_lengths, global_rot, root)
    used, theta0, signs, anc = _constants(ang.device, ang.dtype)

    th = torch.deg2rad(ang.index_select(-1, used) + theta0).t().contiguous()   # (U, n)
    trig = torch.cat([torch.cos(th), torch.sin(th)], 0)                        # (2U, n)

    # Pelvis frame G = Rx(a)·Ry(b)·Rz(g): V = Rx(a)·Ry(b), then two columns mixed by Rz(g).
    gth = torch.deg2rad(grot.t())                                        # (3, n)
    ca, cb, cg = torch.cos(gth)                                          # (n,) each
    sa, sb, sg = torch.sin(gth)
    v0 = torch.stack([cb, sa * sb, -ca * sb], 0)                         # (3, n)
    v1 = torch.stack([torch.zeros_like(ca), ca, sa], 0)
    v2 = torch.stack([sb, -sa * cb, ca * cb], 0)
    g0, g1 = torch.addcmul(cg * v0, sg, v1), torch.addcmul(cg * v1, sg, v0, value=-1)

    if not fused_backward:                       # plain ops: torch.func-friendly
        dirs = _run_program(trig, g0, g1, v2)                              # (15, 3, n)
    elif torch.is_grad_enabled() and any(t.requires_grad for t in (trig, g0, g1, v2)):
        dirs = _ColumnProgram.apply(trig, g0, g1, v2)
    else:                                        # no graph needed: in place, no temporaries
        dirs = _run_program_in_place(trig, g0, g1, v2).index_select(0, _program_indices(trig.device)[0])
    bones = dirs * (lengths * signs).t().unsqueeze(1)                       # (15, 3, n)
    n = ang.shape[0]
    joints = torch.matmul(anc.t(), bones.reshape(skeleton.NUM_BONES, 3 * n))  # (16, 3n)
    joints = joints.view(skeleton.NUM_JOINTS, 3, n) + rt.t()
    return joints.permute(2, 0, 1).reshape(lead + (skeleton.NUM_JOINTS, 3))


def forward_kinematics(angles: torch.Tensor, bone_lengths: torch.Tensor, global_rot: torch.Tensor,
                       root: torch.Tensor) -> torch.Tensor:
    """Joint positions of the DH model.

    angles (..., 33) degrees in chain order, added to the theta offsets; bone_lengths (..., 15)
    metres in FK order (``utils.skeleton.FK_BONES``); global_rot (..., 3) degrees, the pelvis
    rotation R = Rx·Ry·Rz about the Hip; root (..., 3) metres.  Leading shapes broadcast.
    Returns (..., 16, 3): H36M-16 joints, world frame (z up), metres, ``R·P_local + root``.
    Differentiable in every input (first and second order); not usable under ``torch.func``
    transforms, see ``forward_kinematics_autograd``.
    """
    return _forward(angles, bone_lengths, global_rot, root, fused_backward=True)


def forward_kinematics_autograd(angles: torch.Tensor, bone_lengths: torch.Tensor,
                                global_rot: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
    """``forward_kinematics`` built from plain torch ops only (same values): slower backward,
    but works with ``torch.func`` (vmap, jacfwd, jacrev) and forward-mode AD."""
    return _forward(angles, bone_lengths, global_rot, root, fused_backward=False)


# --------------------------------------------------------------------------- reference
def rotation_xyz(global_rot: torch.Tensor) -> torch.Tensor:
    """R = Rx(x)·Ry(y)·Rz(z) from (..., 3) degrees -> (..., 3, 3)."""
    c, s = torch.cos(torch.deg2rad(global_rot)), torch.sin(torch.deg2rad(global_rot))
    o, z = torch.ones_like(c[..., 0]), torch.zeros_like(c[..., 0])

    def mat(rows):
        return torch.stack([torch.stack(r, -1) for r in rows], -2)

    rx = mat(((o, z, z), (z, c[..., 0], -s[..., 0]), (z, s[..., 0], c[..., 0])))
    ry = mat(((c[..., 1], z, s[..., 1]), (z, o, z), (-s[..., 1], z, c[..., 1])))
    rz = mat(((c[..., 2], -s[..., 2], z), (s[..., 2], c[..., 2], z), (z, z, o)))
    return rx @ ry @ rz


def link_frames(angles: torch.Tensor, bone_lengths: torch.Tensor) -> torch.Tensor:
    """Cumulative 4x4 transforms (..., 33, 4, 4) of every link, in angle-vector order, in the
    pelvis frame (before the global rotation and root): chains start at identity, the arms at
    the body's frame after link 8.  Literal products of docs/dh_model.md#link-transform; slow,
    not for training."""
    lead = torch.broadcast_shapes(angles.shape[:-1], bone_lengths.shape[:-1])
    ang = angles.expand(lead + angles.shape[-1:])
    lengths = bone_lengths.to(ang.dtype).expand(lead + bone_lengths.shape[-1:])
    theta = ang + torch.tensor(T.THETA0, dtype=ang.dtype, device=ang.device)
    params = T.dh_parameters(lengths)
    frames: list[torch.Tensor] = []
    for ci, chain in enumerate(T.CHAINS):
        h = torch.eye(4, dtype=ang.dtype, device=ang.device).expand(lead + (4, 4))
        if chain.base is not None:
            h = frames[T.CHAIN_OFFSETS[chain.base[0]] + chain.base[1]]
        a, d = params[ci]
        for k, alpha in enumerate(chain.alpha):
            t = T.link_transform(torch.tensor(float(alpha), dtype=ang.dtype, device=ang.device),
                                 a[..., k], d[..., k], theta[..., T.CHAIN_OFFSETS[ci] + k])
            h = h @ t
            frames.append(h)
    return torch.stack(frames, -3)


def forward_kinematics_reference(angles: torch.Tensor, bone_lengths: torch.Tensor,
                                 global_rot: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
    """Same contract as ``forward_kinematics``, computed literally: the joints are the
    translations of the cumulative link transforms (``link_frames``, docs/dh_model.md#dh-tables),
    then ``R·P + root``.  Slow; for tests and benchmarks."""
    lead, (ang, lengths, grot, rt) = _flatten_inputs(angles, bone_lengths, global_rot, root)
    frames = link_frames(ang, lengths)
    index = [T.CHAIN_OFFSETS[ci] + k for ci, k in (T.JOINT_FRAMES[j] for j in range(1, skeleton.NUM_JOINTS))]
    local = frames[:, index, :3, 3]
    local = torch.cat([torch.zeros_like(local[:, :1]), local], 1)       # Hip at the origin
    world = local @ rotation_xyz(grot).transpose(-1, -2) + rt.unsqueeze(-2)
    return world.reshape(lead + (skeleton.NUM_JOINTS, 3))


def frame_rotation(angles: torch.Tensor, global_rot: torch.Tensor, chain: int, link: int) -> torch.Tensor:
    """World rotation (..., 3, 3) of the cumulative frame after ``link`` of chain ``chain``
    (index into ``dh_tables.CHAINS``): R·Π RotX(alpha)·RotZ(theta) along the chain and its base.
    Its columns are the frame's axes; e.g. a bone set by the next link's ``a`` points along
    column 0.  Not a hot path (inverse-kinematics starts, tests)."""
    ones = angles.new_ones(skeleton.NUM_BONES)
    local = link_frames(angles, ones)[..., T.CHAIN_OFFSETS[chain] + link, :3, :3]
    return rotation_xyz(global_rot) @ local
