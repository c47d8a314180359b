import pytest
import torch

from models.lifter_mlp import MLPLifter


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("stages, expected", [(2, 4_288_557), (4, 8_495_149)])
def test_parameter_count_matches_original(stages, expected):
    assert _count(MLPLifter(stages=stages)) == expected


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = MLPLifter(width=8, stages=1, dropout=0.25)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def _bn(y, bn):
    return (y - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def test_eval_forward_matches_hand_written_network(small):
    x = torch.randn(4, 16, 2)
    relu = torch.relu
    h = relu(_bn(x.reshape(4, 32) @ small.w1.weight.T + small.w1.bias, small.batch_norm1))
    blk = small.linear_stages[0]
    r = relu(_bn(h @ blk.w1.weight.T + blk.w1.bias, blk.batch_norm1))
    r = relu(_bn(r @ blk.w2.weight.T + blk.w2.bias, blk.batch_norm2))
    y = (h + r) @ small.w2.weight.T + small.w2.bias
    expected = torch.cat([torch.zeros(4, 1, 3), y.reshape(4, 15, 3)], dim=1)
    with torch.no_grad():
        assert torch.allclose(small(x), expected, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 3])
def test_shapes_flat_and_structured_inputs_agree(small, batch):
    x = torch.randn(batch, 16, 2)
    with torch.no_grad():
        out = small(x)
        assert out.shape == (batch, 16, 3)
        assert torch.equal(out, small(x.reshape(batch, 32)))
        assert torch.count_nonzero(out[:, 0]) == 0


def test_samples_are_independent_in_eval_mode(small):
    x = torch.randn(3, 16, 2)
    with torch.no_grad():
        assert torch.allclose(small(x)[1:2], small(x[1:2]), atol=1e-6)


def test_train_mode_uses_dropout_and_backpropagates_to_every_parameter():
    torch.manual_seed(1)
    model = MLPLifter(width=16, stages=2, dropout=0.5).train()
    x = torch.randn(5, 32)
    out = model(x)
    assert out.shape == (5, 16, 3)
    assert not torch.equal(out, model(x))      # dropout is active
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
