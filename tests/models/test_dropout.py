"""models/dropout.py: the cheap CPU dropout keeps the statistics and gradient of nn.Dropout."""
import math

import pytest
import torch

from models.dropout import (Dropout, ReLUDropout, _bit_table, _unpack_bits, keep_flags,
                            keep_mask)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.75, 0.375, 0.1, 0.3])   # planes, 8-bit, 16-bit
def test_keep_fraction_and_scale(p):
    g = torch.Generator().manual_seed(1)
    n = 400_003                                     # not a multiple of any word
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


def _draws(count):
    """State of a generator seeded 5 after ``count`` 64-bit draws."""
    g = torch.Generator().manual_seed(5)
    torch.empty(count, dtype=torch.int64).random_(-(1 << 63), None, generator=g)
    return g.get_state()


@pytest.mark.parametrize("p, elements, draws", [
    (0.25, 128, 4),      # two bit planes: 2 bits per element
    (0.5, 128, 2),       # one plane
    (0.75, 65, 4),       # two planes of two words (65 bits)
    (0.375, 16, 2),      # 8-bit lanes: 8 elements per draw
    (0.3, 16, 4),        # 16-bit lanes: 4 per draw
])
def test_random_bits_consumed_per_element(p, elements, draws):
    g = torch.Generator().manual_seed(5)
    keep_flags((elements,), p, generator=g)
    assert torch.equal(g.get_state(), _draws(draws))


def test_bit_planes_unpack_in_order():
    """Bit k of byte i of the word buffer is element 8 i + k (little-endian int64 words)."""
    words = torch.tensor([0b1011 | (1 << 40), -(1 << 63)], dtype=torch.int64)
    flags = _unpack_bits(words, 128, _bit_table(torch.bool, 1, "cpu"))
    assert flags.dtype == torch.bool and flags.shape == (128,)
    assert flags.nonzero().flatten().tolist() == [0, 1, 3, 40, 127]
    values = _unpack_bits(words, 70, _bit_table(torch.float64, 2.5, "cpu"))
    assert values.shape == (70,) and values.dtype == torch.float64
    assert torch.equal(values, flags[:70].double() * 2.5)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.75])
def test_mask_and_flags_agree_for_the_same_draws(p):
    """Bit planes unpack through two different tables (bool and the mask's dtype)."""
    flags = keep_flags((999,), p, generator=torch.Generator().manual_seed(8))
    mask = keep_mask((999,), p, dtype=torch.float32, generator=torch.Generator().manual_seed(8))
    assert torch.equal(mask, flags.float() * torch.tensor(1.0 / (1.0 - p)))


def test_bit_plane_rates_combine_two_planes():
    """p = 1/4 keeps unless both plane bits are 0; p = 3/4 keeps only if both are 1."""
    g = torch.Generator().manual_seed(6)
    planes = torch.empty(2, 1, dtype=torch.int64).random_(-(1 << 63), None, generator=g)
    a, b = (_unpack_bits(plane, 64, _bit_table(torch.bool, 1, "cpu")) for plane in planes)
    for p, expected in ((0.25, a | b), (0.75, a & b), (0.5, a)):
        g.manual_seed(6)
        assert torch.equal(keep_flags((64,), p, generator=g), expected)
