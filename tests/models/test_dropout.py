"""models/dropout.py: the cheap CPU dropout keeps the statistics and gradient of nn.Dropout."""
import math

import pytest
import torch

from models.dropout import Dropout, ReLUDropout, keep_flags, keep_mask


@pytest.mark.parametrize("p", [0.25, 0.5, 0.1, 0.3])
def test_keep_fraction_and_scale(p):
    g = torch.Generator().manual_seed(1)
    n = 400_003                                     # not a multiple of the four lanes
    mask = keep_mask((n,), p, dtype=torch.float64, generator=g)
    kept = mask != 0
    assert torch.all(mask[kept] == 1.0 / (1.0 - p))
    expected = 1.0 - round(p * 65536) / 65536
    assert abs(expected - (1.0 - p)) < 7.7e-6
    sigma = math.sqrt(expected * (1.0 - expected) / n)
    assert abs(kept.double().mean().item() - expected) < 5 * sigma
    assert abs(mask.mean().item() - 1.0) < 5 * sigma / (1.0 - p)   # unbiased in expectation


def test_lanes_are_independent():
    """Neighbouring elements come from different bits of one word: no correlation between them."""
    g = torch.Generator().manual_seed(2)
    kept = (keep_mask((200_000, 4), 0.5, dtype=torch.float32, generator=g) != 0).double()
    centred = kept - kept.mean(0)
    corr = (centred.T @ centred) / len(kept) / 0.25
    off_diagonal = corr - torch.diag(torch.diagonal(corr))
    assert off_diagonal.abs().max() < 0.02                         # ~9 sigma for n = 2e5


def test_mask_follows_generator_and_shape():
    a = keep_mask((3, 5, 7), 0.25, dtype=torch.float32, generator=torch.Generator().manual_seed(3))
    b = keep_mask((3, 5, 7), 0.25, dtype=torch.float32, generator=torch.Generator().manual_seed(3))
    assert a.shape == (3, 5, 7) and a.dtype == torch.float32 and torch.equal(a, b)


def test_module_forward_backward_use_one_mask():
    torch.manual_seed(4)
    drop = Dropout(0.25).train()
    x = torch.randn(64, 33, dtype=torch.float64, requires_grad=True)
    y = drop(x)
    kept = (y != 0).detach()
    assert 0 < kept.sum() < kept.numel()
    torch.testing.assert_close(y[kept], x[kept] * (4.0 / 3.0))
    (grad,) = torch.autograd.grad((y * 2.0).sum(), x)
    torch.testing.assert_close(grad, kept.double() * (8.0 / 3.0))


def test_default_generator_state_reproduces_masks():
    drop = Dropout(0.5).train()
    x = torch.ones(1000)
    state = torch.get_rng_state()
    first = drop(x)
    torch.set_rng_state(state)
    assert torch.equal(drop(x), first)


def test_eval_and_edge_rates():
    x = torch.randn(10, 10)
    assert Dropout(0.25).eval()(x) is x
    assert Dropout(0.0).train()(x) is x
    assert torch.all(Dropout(1.0).train()(x) == 0)
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.5)
    with pytest.raises(ValueError, match="dropout probability"):
        keep_mask((4,), 1.0, dtype=torch.float32)


@pytest.mark.parametrize("p", [0.25, 0.3])
def test_relu_dropout_equals_relu_then_dropout(p):
    """Same generator state -> the same mask; output and gradient of relu(x) * mask."""
    x = torch.randn(50, 41, dtype=torch.float64, requires_grad=True)
    state = torch.get_rng_state()
    y = ReLUDropout(p).train()(x)
    torch.set_rng_state(state)
    mask = keep_mask(x.shape, p, dtype=torch.float64)
    torch.testing.assert_close(y, torch.relu(x) * mask, rtol=0, atol=0)
    upstream = torch.randn_like(x)
    (grad,) = torch.autograd.grad(y, x, upstream)
    torch.testing.assert_close(grad, upstream * mask * (x > 0), rtol=0, atol=0)
    assert torch.equal(ReLUDropout(p).eval()(x), torch.relu(x))


def test_eight_bit_lanes_when_exact():
    """p = 0.25 uses 8-bit lanes (8 elements per 64-bit draw): 16 elements consume two draws."""
    g = torch.Generator().manual_seed(5)
    keep_flags((16,), 0.25, generator=g)
    after_8bit = g.get_state()
    g.manual_seed(5)
    torch.empty(2, dtype=torch.int64).random_(-(1 << 63), None, generator=g)
    assert torch.equal(g.get_state(), after_8bit)
    g.manual_seed(5)
    keep_flags((16,), 0.3, generator=g)            # 16-bit lanes: four draws
    g2 = torch.Generator().manual_seed(5)
    torch.empty(4, dtype=torch.int64).random_(-(1 << 63), None, generator=g2)
    assert torch.equal(g.get_state(), g2.get_state())
