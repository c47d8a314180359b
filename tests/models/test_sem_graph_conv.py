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


def _reference_sem_graph_conv(x, W, e, bias, mask):
    """out = (A * I) X W0 + (A * (1 - I)) X W1 + b, A = row-softmax of the masked logits."""
    logits = torch.full(mask.shape, -9e15, dtype=x.dtype)
    logits = logits.masked_scatter(mask, e.reshape(-1))     # row-major order of the non-zeros
    A = torch.softmax(logits, dim=1)
    eye = torch.eye(mask.shape[0], dtype=x.dtype)
    return (A * eye) @ (x @ W[0]) + (A * (1 - eye)) @ (x @ W[1]) + bias


def test_forward_and_gradients_equal_the_reference_formula():
    mask = adjacency_from_parents(PARENTS)
    layer = SemGraphConv(5, 7, mask)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        layer.e.copy_(torch.randn(1, 46, generator=g))       # rows no longer uniform
        layer.bias.copy_(torch.randn(7, generator=g))
    x = torch.randn(6, 16, 5, generator=g)
    params = [layer.W, layer.e, layer.bias]
    ref_params = [p.detach().clone().requires_grad_() for p in params]
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = layer(xa)
    ref = _reference_sem_graph_conv(xb, *ref_params, mask)
    assert out.shape == (6, 16, 7)
    assert (out - ref).abs().max() < 1e-5
    w = torch.randn(out.shape, generator=g)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    for a, b in zip([xa] + params, [xb] + ref_params):
        assert (a.grad - b.grad).abs().max() < 1e-5 * max(1.0, float(b.grad.abs().max()))


def test_node_major_forward_is_the_same_map():
    layer = SemGraphConv(3, 4, adjacency_from_parents(PARENTS))
    x = torch.randn(5, 16, 3)
    with torch.no_grad():
        nodes = layer.forward_nodes(x.transpose(0, 1).contiguous())
        assert nodes.shape == (16, 5, 4)
        assert torch.allclose(nodes.transpose(0, 1), layer(x), atol=1e-6)


def test_weights_follow_an_optimiser_step():
    # nothing derived from e is cached: after a step on e the mix changes accordingly
    mask = adjacency_from_parents(PARENTS)
    layer = SemGraphConv(2, 3, mask)
    x = torch.randn(4, 16, 2)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    layer(x).square().sum().backward()
    opt.step()
    with torch.no_grad():
        ref = _reference_sem_graph_conv(x, layer.W, layer.e, layer.bias, mask)
        assert not torch.equal(layer.e, torch.ones(1, 46))
        assert (layer(x) - ref).abs().max() < 1e-5


def _double_layer(in_features, out_features, bias=True):
    layer = SemGraphConv(in_features, out_features, adjacency_from_parents(PARENTS), bias=bias)
    with torch.no_grad():
        layer.e.copy_(torch.randn(1, 46, generator=torch.Generator().manual_seed(7)))
    return layer.double()


def test_hand_written_backward_passes_gradcheck_with_and_without_bias():
    """The node-major layer's backward is written by hand: check it against finite differences."""
    for bias in (True, False):
        layer = _double_layer(3, 2, bias)
        x = torch.randn(16, 4, 3, dtype=torch.float64, requires_grad=True)
        params = tuple(p for p in (layer.W, layer.e, layer.bias) if p is not None)

        def f(x, *_):
            return layer.forward_nodes(x)
        assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-6)


def test_input_without_grad_and_weights_without_grad():
    """A first layer's input needs no gradient; frozen weights get none either."""
    layer = _double_layer(2, 3)
    x = torch.randn(16, 5, 2, dtype=torch.float64)
    layer.forward_nodes(x).sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    layer.zero_grad(set_to_none=True)
    layer.requires_grad_(False)
    x.requires_grad_(True)
    layer.forward_nodes(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in layer.parameters())


def test_autocast_runs_the_products_in_bf16_with_float32_gradients():
    layer = SemGraphConv(8, 8, adjacency_from_parents(PARENTS))
    x = torch.randn(16, 32, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer.forward_nodes(x)
    assert out.dtype == torch.bfloat16
    ref = layer.forward_nodes(x.detach())
    assert (out.float() - ref).abs().max() < 0.03 * ref.abs().max()
    out.float().sum().backward()
    assert x.grad.dtype == torch.float32
    assert all(p.grad.dtype == torch.float32 for p in layer.parameters())
