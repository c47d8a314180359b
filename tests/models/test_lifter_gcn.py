import pytest
import torch

from models.lifter_gcn import GraphConvBlock, SemGCNLifter
from models.sem_graph_conv import adjacency_from_parents
from utils.skeleton import FLIP_PERMUTATION, PARENTS


@pytest.fixture(scope="module")
def gcn():
    torch.manual_seed(0)
    model = SemGCNLifter(stages=4, dropout=0.25)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)):
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_parameter_count_matches_original(gcn):
    assert sum(p.numel() for p in gcn.parameters()) == 267_343


@pytest.mark.parametrize("batch", [1, 3])
def test_shapes_and_flat_input(gcn, batch):
    x = torch.randn(batch, 16, 2)
    with torch.no_grad():
        out = gcn(x)
        assert out.shape == (batch, 16, 3)
        assert torch.equal(out, gcn(x.reshape(batch, 32)))
    assert torch.count_nonzero(out[:, 0]) > 0      # the root is predicted, not padded


def test_samples_are_independent_in_eval_mode(gcn):
    x = torch.randn(3, 16, 2)
    with torch.no_grad():
        assert torch.allclose(gcn(x)[2:], gcn(x[2:]), atol=1e-6)


def test_left_right_swap_is_a_graph_symmetry_at_init(gcn):
    # every edge logit starts at 1, so swapping the mirrored limbs permutes the outputs alike
    perm = list(FLIP_PERMUTATION)
    x = torch.randn(2, 16, 2)
    with torch.no_grad():
        assert torch.allclose(gcn(x[:, perm]), gcn(x)[:, perm], atol=1e-5)


def test_information_travels_one_edge_per_graph_layer():
    torch.manual_seed(1)
    model = SemGCNLifter(stages=0, dropout=None).eval()   # two graph convolutions
    x = torch.randn(1, 16, 2)
    head = 9
    far, near = x.clone(), x.clone()
    far[0, 15] += 5.0    # RWrist: 4 edges from Head
    near[0, 7] += 5.0    # Spine: 2 edges from Head
    with torch.no_grad():
        assert torch.equal(model(far)[0, head], model(x)[0, head])
        assert not torch.allclose(model(near)[0, head], model(x)[0, head])


def test_block_is_graphconv_batchnorm_relu_in_eval_mode():
    torch.manual_seed(2)
    block = GraphConvBlock(adjacency_from_parents(PARENTS), 2, 8, dropout=0.5).eval()
    block.bn.running_mean.uniform_(-1, 1)
    x = torch.randn(3, 16, 2)
    with torch.no_grad():
        g = block.gconv(x)                       # (B, J, C)
        bn = block.bn
        expected = torch.relu((g - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
                              * bn.weight + bn.bias)
        out = block(x.transpose(0, 1))           # blocks take node-major (J, B, C)
        assert out.shape == (16, 3, 8)
        assert torch.allclose(out.transpose(0, 1), expected, atol=1e-6)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(3)
    model = SemGCNLifter(hidden=8, stages=1, dropout=0.1).train()
    model(torch.randn(4, 16, 2)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def _batch_major_reference(model, x):
    """SemGCN on (B, J, C) features with batch norm over (B, C, J), from the model's parameters."""
    def gconv(layer, h):
        a = layer.weighting()
        eye = torch.eye(a.shape[0])
        return (a * eye) @ (h @ layer.W[0]) + (a * (1 - eye)) @ (h @ layer.W[1]) + layer.bias

    def block(b, h):
        h = b.bn(gconv(b.gconv, h).transpose(1, 2)).transpose(1, 2)
        if b.dropout is not None:
            h = b.dropout(torch.relu(h))
        return torch.relu(h)

    h = block(model.gconv_input[0], x)
    for res in model.gconv_layers:
        h = h + block(res.gconv2, block(res.gconv1, h))
    return gconv(model.gconv_output, h)


@pytest.mark.parametrize("train", [False, True])
def test_node_major_lifter_equals_batch_major_reference_with_gradients(train):
    torch.manual_seed(5)
    a = SemGCNLifter(hidden=16, stages=2, dropout=0.0 if train else 0.25)
    for bn in (m for m in a.modules() if isinstance(m, torch.nn.BatchNorm1d)):
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.weight.data.uniform_(0.5, 1.5)
    b = SemGCNLifter(hidden=16, stages=2, dropout=0.0 if train else 0.25)
    b.load_state_dict(a.state_dict())
    a.train(train), b.train(train)
    x = torch.randn(5, 16, 2)
    out, ref = a(x), _batch_major_reference(b, x)
    assert (out - ref).abs().max() < 1e-5
    w = torch.randn_like(out)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    grads = dict(b.named_parameters())
    # float32 rounding relative to the largest gradient (the first bias's is ~0 under train BN)
    scale = max(1.0, max(float(p.grad.abs().max()) for p in b.parameters()))
    for name, p in a.named_parameters():
        assert torch.allclose(p.grad, grads[name].grad, rtol=1e-5, atol=1e-6 * scale), name
    if train:
        assert torch.allclose(a.gconv_input[0].bn.running_var, b.gconv_input[0].bn.running_var)


def test_relu_after_dropout_is_not_needed_in_training():
    torch.manual_seed(6)
    block = GraphConvBlock(adjacency_from_parents(PARENTS), 2, 8, dropout=0.5).train()
    x = torch.randn(16, 4, 2)
    torch.manual_seed(7)
    out = block(x)
    torch.manual_seed(7)
    h = block.gconv.forward_nodes(x)
    full = torch.relu(block.dropout(torch.relu(block.bn(h.reshape(-1, 8)).reshape(h.shape))))
    assert torch.equal(out, full)
    assert (out == 0).float().mean() > 0.5        # ReLU zeros and dropped units
