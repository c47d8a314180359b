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
        g = block.gconv(x)
        bn = block.bn
        expected = torch.relu((g - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
                              * bn.weight + bn.bias)
        assert torch.allclose(block(x), expected, atol=1e-6)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(3)
    model = SemGCNLifter(hidden=8, stages=1, dropout=0.1).train()
    model(torch.randn(4, 16, 2)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
