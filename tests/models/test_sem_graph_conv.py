import math

import torch

from models.sem_graph_conv import SemGraphConv, adjacency_from_parents
from utils.skeleton import PARENTS


def test_skeleton_adjacency_is_symmetric_with_self_loops_and_matches_parents():
    mask = adjacency_from_parents(PARENTS)
    assert mask.dtype == torch.bool and mask.shape == (16, 16)
    assert int(mask.sum()) == 46
    assert torch.equal(mask, mask.T)
    assert bool(mask.diagonal().all())
    for i in range(16):
        for j in range(16):
            if i != j:
                assert bool(mask[i, j]) == (PARENTS[i] == j or PARENTS[j] == i)


def _chain_layer():
    # 0 - 1 - 2 chain
    layer = SemGraphConv(2, 3, adjacency_from_parents((-1, 0, 1)))
    torch.manual_seed(0)
    with torch.no_grad():
        layer.W.normal_()
        layer.e.copy_(torch.tensor([[0.3, -1.0, 2.0, 0.5, 1.5, -0.2, 0.7]]))
        layer.bias.normal_()
    return layer


def test_forward_matches_explicit_per_node_formula():
    layer = _chain_layer()
    x = torch.randn(2, 3, 2)
    nonzeros = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)]   # row-major order
    logit = {ij: float(layer.e.detach()[0, k]) for k, ij in enumerate(nonzeros)}
    expected = torch.zeros(2, 3, 3)
    W, bias = layer.W.detach(), layer.bias.detach()
    for i in range(3):
        nbrs = [j for (r, j) in nonzeros if r == i]
        z = sum(math.exp(logit[(i, j)]) for j in nbrs)
        for j in nbrs:
            a = math.exp(logit[(i, j)]) / z
            w = W[0] if j == i else W[1]
            expected[:, i] += a * (x[:, j] @ w)
        expected[:, i] += bias
    with torch.no_grad():
        assert torch.allclose(layer(x), expected, atol=1e-5)
        a = layer.weighting()
    assert torch.allclose(a.sum(dim=1), torch.ones(3))
    assert float(a[0, 2]) == 0.0 and float(a[2, 0]) == 0.0


def test_non_neighbours_do_not_interact():
    layer = _chain_layer()
    x = torch.randn(1, 3, 2)
    y = x.clone()
    y[0, 2] += 10.0
    with torch.no_grad():
        assert torch.equal(layer(x)[0, 0], layer(y)[0, 0])
        assert not torch.allclose(layer(x)[0, 1], layer(y)[0, 1])


def test_parameters_state_dict_and_init():
    layer = SemGraphConv(128, 64, adjacency_from_parents(PARENTS))
    assert set(layer.state_dict()) == {"W", "e", "bias"}
    assert layer.W.shape == (2, 128, 64) and layer.e.shape == (1, 46)
    assert torch.equal(layer.e.detach(), torch.ones(1, 46))
    assert layer.bias.abs().max() <= 1 / math.sqrt(64)
    # xavier-uniform on (2, in, out): fan_in = in*out, fan_out = 2*out
    bound = 1.414 * math.sqrt(6.0 / (128 * 64 + 2 * 64))
    assert layer.W.abs().max() <= bound
    assert layer.W.abs().max() > 0.95 * bound


def test_reset_parameters_is_reproducible_with_a_generator():
    layer = SemGraphConv(4, 5, adjacency_from_parents(PARENTS))
    layer.reset_parameters(torch.Generator().manual_seed(3))
    first = {k: v.clone() for k, v in layer.state_dict().items()}
    torch.rand(10)
    layer.reset_parameters(torch.Generator().manual_seed(3))
    assert all(torch.equal(first[k], v) for k, v in layer.state_dict().items())


def test_follows_input_dtype_and_batch_shape():
    layer = SemGraphConv(2, 4, adjacency_from_parents(PARENTS)).double()
    out = layer(torch.randn(2, 5, 16, 2, dtype=torch.float64))
    assert out.shape == (2, 5, 16, 4) and out.dtype == torch.float64
