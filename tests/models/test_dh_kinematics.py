"""Forward kinematics: rest pose, hand-computed poses, invariants, gradients, shapes."""
from __future__ import annotations

import math

import pytest
import torch

from models import dh_kinematics as K
from models import dh_tables as T
from utils import skeleton

F64 = torch.float64
DEFAULT = torch.tensor(T.DEFAULT_BONE_LENGTHS, dtype=F64)
ZERO3 = torch.zeros(3, dtype=F64)

# docs/dh_model.md#dh-tables: all angles 0, DH-table default lengths.
REST = torch.tensor([
    [0, 0, 0], [0.25, 0, 0], [0.25, 0, -0.6], [0.25, 0, -1.1], [-0.25, 0, 0], [-0.25, 0, -0.6],
    [-0.25, 0, -1.1], [0, 0, 0.25], [0, 0, 0.45], [0, 0, 0.6], [-0.3, 0, 0.45], [-0.3, 0, 0.05],
    [-0.3, 0, -0.3], [0.3, 0, 0.45], [0.3, 0, 0.05], [0.3, 0, -0.3]], dtype=F64)


def angles_with(**values: float) -> torch.Tensor:
    """33 angles, all zero except e.g. RLeg3=-90 (chain name + link)."""
    a = torch.zeros(T.NUM_ANGLES, dtype=F64)
    for key, v in values.items():
        a[T.CHAIN_OFFSETS[T.CHAIN_NAMES.index(key[:-1])] + int(key[-1])] = v
    return a


def random_inputs(shape: tuple, generator: torch.Generator, dtype=F64) -> list[torch.Tensor]:
    def u(k, lo, hi):
        return torch.rand(shape + (k,), generator=generator, dtype=dtype) * (hi - lo) + lo
    return [u(33, -180, 180), u(15, 0.05, 0.6), u(3, -180, 180), u(3, -3, 3)]


@pytest.mark.parametrize("fk", [K.forward_kinematics, K.forward_kinematics_autograd,
                                K.forward_kinematics_reference])
def test_rest_pose_matches_facts(fk):
    torch.testing.assert_close(fk(torch.zeros(33, dtype=F64), DEFAULT, ZERO3, ZERO3), REST,
                               atol=1e-12, rtol=0)


def test_right_knee_flexed_and_body_yawed_by_hand():
    # Knee -90 (natural flexion): the right shin points backward (-y) from the knee.
    # Global rotation z = 30: every local point is turned about the vertical axis,
    # x' = x cos30 - y sin30, y' = x sin30 + y cos30, then the root is added.
    local = REST.clone()
    local[3] = torch.tensor([0.25, -0.5, -0.6], dtype=F64)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    root = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    expected = torch.stack([local[:, 0] * c - local[:, 1] * s, local[:, 0] * s + local[:, 1] * c,
                            local[:, 2]], -1) + root
    got = K.forward_kinematics(angles_with(RLeg3=-90), DEFAULT, torch.tensor([0, 0, 30.0], dtype=F64), root)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_limb_roles_by_hand():
    # Left hip flexed 90 (thigh forward, +y), knee -90 (shin down again); right shoulder
    # flexed 90 (upper arm forward) and elbow +90 (natural flexion: forearm up);
    # a 90 degree global pitch about x then sends +y to +z and +z to -y.
    a = angles_with(LLeg2=90, LLeg3=-90, RArm2=90, RArm3=90)
    local = REST.clone()
    local[5:7] = torch.tensor([[-0.25, 0.6, 0], [-0.25, 0.6, -0.5]], dtype=F64)
    local[14:16] = torch.tensor([[0.3, 0.4, 0.45], [0.3, 0.4, 0.8]], dtype=F64)
    torch.testing.assert_close(K.forward_kinematics(a, DEFAULT, ZERO3, ZERO3), local, atol=1e-12, rtol=0)
    pitched = torch.stack([local[:, 0], -local[:, 2], local[:, 1]], -1)
    torch.testing.assert_close(K.forward_kinematics(a, DEFAULT, torch.tensor([90.0, 0, 0], dtype=F64), ZERO3),
                               pitched, atol=1e-12, rtol=0)


def test_global_rotation_order_is_rx_ry_rz():
    g = torch.tensor([20.0, -35.0, 50.0], dtype=F64)
    r = K.rotation_xyz(g)
    cx, sx = math.cos(math.radians(20)), math.sin(math.radians(20))
    cy, sy = math.cos(math.radians(-35)), math.sin(math.radians(-35))
    cz, sz = math.cos(math.radians(50)), math.sin(math.radians(50))
    rx = torch.tensor([[1, 0, 0], [0, cx, -sx], [0, sx, cx]], dtype=F64)
    ry = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=F64)
    rz = torch.tensor([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]], dtype=F64)
    torch.testing.assert_close(r, rx @ ry @ rz)
    a = torch.randn(33, dtype=F64, generator=torch.Generator().manual_seed(3)) * 40
    local = K.forward_kinematics(a, DEFAULT, ZERO3, ZERO3)
    torch.testing.assert_close(K.forward_kinematics(a, DEFAULT, g, ZERO3), local @ r.T)


def test_fast_path_matches_the_literal_4x4_products():
    x = random_inputs((64,), torch.Generator().manual_seed(0))
    ref = K.forward_kinematics_reference(*x)
    torch.testing.assert_close(K.forward_kinematics(*x), ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(K.forward_kinematics_autograd(*x), ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype,tol", [(F64, 1e-12), (torch.float32, 1e-6)])
def test_bone_lengths_equal_inputs(dtype, tol):
    x = random_inputs((256,), torch.Generator().manual_seed(1), dtype)
    pose = K.forward_kinematics(*x)
    assert pose.dtype == dtype
    assert (skeleton.bone_lengths(pose, "fk") - x[1]).abs().max() < tol
    assert (pose[:, 0] - x[3]).abs().max() < tol    # the Hip is the root


def test_no_effect_links_do_not_move_anything():
    x = random_inputs((8,), torch.Generator().manual_seed(2))
    moved = x[0].clone()
    for r in T.DOF_TABLE:
        if r.role == "no effect":
            moved[:, r.index] += 77.0
    torch.testing.assert_close(K.forward_kinematics(moved, *x[1:]), K.forward_kinematics(*x))


def test_gradcheck_float64():
    x = [t.requires_grad_() for t in random_inputs((3,), torch.Generator().manual_seed(4))]
    assert torch.autograd.gradcheck(K.forward_kinematics, x)
    assert torch.autograd.gradgradcheck(K.forward_kinematics, x)


def test_fused_backward_equals_autograd_backward():
    x = [t.requires_grad_() for t in random_inputs((33,), torch.Generator().manual_seed(5))]
    w = torch.randn(33, 16, 3, dtype=F64, generator=torch.Generator().manual_seed(6))
    fused = torch.autograd.grad((K.forward_kinematics(*x) * w).sum(), x)
    plain = torch.autograd.grad((K.forward_kinematics_reference(*x) * w).sum(), x)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_autograd_variant_works_with_torch_func():
    a, lengths, g, r = random_inputs((5,), torch.Generator().manual_seed(12))
    jac = torch.func.vmap(torch.func.jacfwd(K.forward_kinematics_autograd))(a, lengths, g, r)
    assert jac.shape == (5, 16, 3, 33)
    full = torch.autograd.functional.jacobian(lambda x: K.forward_kinematics(x, lengths[0], g[0], r[0]), a[0])
    torch.testing.assert_close(jac[0], full)


def test_gradient_only_for_inputs_that_need_it():
    a, lengths, g, r = random_inputs((4,), torch.Generator().manual_seed(7))
    lengths.requires_grad_()
    (grad,) = torch.autograd.grad(K.forward_kinematics(a, lengths, g, r).sum(), [lengths])
    assert grad.shape == lengths.shape and torch.isfinite(grad).all()


@pytest.mark.parametrize("shape", [(), (1,), (7,), (2, 3, 5)])
def test_batch_shapes(shape):
    x = random_inputs(shape, torch.Generator().manual_seed(8))
    out = K.forward_kinematics(*x)
    assert out.shape == shape + (16, 3)
    flat = K.forward_kinematics(*(t.reshape(-1, t.shape[-1]) for t in x))
    torch.testing.assert_close(out.reshape(-1, 16, 3), flat)


def test_broadcast_and_large_odd_batch():
    gen = torch.Generator().manual_seed(9)
    a, _, g, r = random_inputs((4097,), gen, torch.float32)
    out = K.forward_kinematics(a, DEFAULT.float(), g, r[0])         # shared lengths and root
    assert out.shape == (4097, 16, 3) and out.dtype == torch.float32
    one = K.forward_kinematics(a[4096], DEFAULT.float(), g[4096], r[0])
    torch.testing.assert_close(out[4096], one)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="angles"):
        K.forward_kinematics(torch.zeros(32), DEFAULT, ZERO3, ZERO3)
    with pytest.raises(ValueError, match="bone_lengths"):
        K.forward_kinematics(torch.zeros(33), torch.zeros(16), ZERO3, ZERO3)


def test_frame_rotation_columns_are_bone_directions():
    x = random_inputs((6,), torch.Generator().manual_seed(10))
    pose = K.forward_kinematics(*x)
    # The left upper arm is set by LArm link 3's a, along column 0 of the frame after LArm link 2.
    rot = K.frame_rotation(x[0], x[2], 4, 2)
    direction = (pose[:, 11] - pose[:, 10]) / x[1][:, 10:11]
    torch.testing.assert_close(rot[..., 0], direction)
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), torch.eye(3, dtype=F64).expand(6, 3, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x = random_inputs((5,), torch.Generator().manual_seed(11))
    cuda = K.forward_kinematics(*(t.cuda().requires_grad_() for t in x))
    cuda.sum().backward()
    torch.testing.assert_close(cuda.cpu(), K.forward_kinematics(*x))
