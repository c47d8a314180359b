import pytest
import torch

from models.lifter_videopose import (DilatedTemporalLifter, StridedTemporalLifter,
                                     VideoPoseLifter, check_filter_widths)


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _randomise_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)):
        n = bn.num_features
        bn.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
        bn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
        bn.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
        bn.bias.data.copy_(torch.rand(n, generator=g) - 0.5)


@pytest.fixture(scope="module")
def pair():
    """Small-channel strided/dilated pair with uneven widths, same weights, eval mode."""
    torch.manual_seed(0)
    strided = StridedTemporalLifter((3, 5, 3), channels=16)
    _randomise_bn(strided, 1)
    dilated = DilatedTemporalLifter((3, 5, 3), channels=16)
    dilated.load_state_dict(strided.state_dict())
    return strided.eval(), dilated.eval()


def test_parameter_counts_match_original():
    assert _count(VideoPoseLifter(stages=4)) == 8_485_933
    assert _count(StridedTemporalLifter((3, 3))) == 4_347_952
    assert _count(DilatedTemporalLifter((3, 3))) == 4_347_952


def test_train_and_eval_forms_share_state_dict_layout(pair):
    strided, dilated = pair
    a, b = strided.state_dict(), dilated.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)
    assert strided.receptive_field == dilated.receptive_field == 45


def test_dilated_sequence_equals_strided_windows(pair):
    strided, dilated = pair
    seq = torch.randn(2, 50, 16, 2)
    with torch.no_grad():
        out = dilated(seq)
        assert out.shape == (2, 50 - 45 + 1, 16, 3)
        windows = seq.unfold(1, 45, 1).permute(0, 1, 4, 2, 3).reshape(-1, 45, 16, 2)
        per_window = strided(windows)
        assert per_window.shape == (12, 1, 16, 3)
        assert torch.allclose(per_window.reshape(2, 6, 16, 3), out, atol=1e-5)


def test_strided_on_several_receptive_fields_gives_non_overlapping_windows(pair):
    strided, dilated = pair
    seq = torch.randn(1, 90, 16, 2)
    with torch.no_grad():
        out = strided(seq)
        full = dilated(seq)
    assert out.shape == (1, 2, 16, 3)
    assert torch.allclose(out, full[:, [0, 45]], atol=1e-5)


def test_dilated_output_t_sees_exactly_frames_t_to_t_plus_rf_minus_1(pair):
    _, dilated = pair
    seq = torch.randn(1, 50, 16, 2)
    late = seq.clone()
    late[0, 45] += 3.0
    with torch.no_grad():
        base, moved = dilated(seq), dilated(late)
    assert torch.equal(base[0, 0], moved[0, 0])
    assert all(not torch.allclose(base[0, t], moved[0, t]) for t in range(1, 6))


def test_frame_count_is_checked(pair):
    strided, dilated = pair
    with pytest.raises(ValueError, match="multiple of its receptive field 45"):
        strided(torch.zeros(1, 44, 16, 2))
    with pytest.raises(ValueError, match="at least its receptive field 45"):
        dilated(torch.zeros(1, 44, 16, 2))
    with pytest.raises(ValueError):
        check_filter_widths((3, 2))


@pytest.mark.parametrize("batch", [1, 3])
def test_default_multi_frame_shapes(batch):
    torch.manual_seed(4)
    model = StridedTemporalLifter((3, 3)).eval()
    with torch.no_grad():
        assert model(torch.randn(batch, 9, 16, 2)).shape == (batch, 1, 16, 3)


def test_single_frame_videopose_shapes_and_zero_root():
    torch.manual_seed(5)
    model = VideoPoseLifter(stages=2, channels=32)
    _randomise_bn(model, 6)
    x = torch.randn(3, 16, 2)
    out = model.train()(x)
    assert out.shape == (3, 16, 3)
    model.eval()
    with torch.no_grad():
        one = model(x[:1])
        assert one.shape == (1, 16, 3)
        assert torch.count_nonzero(model(x)[:, 0]) == 0
        assert torch.equal(model(x), model(x.reshape(3, 32)))
        assert torch.allclose(model(x)[:1], one, atol=1e-6)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(7)
    model = StridedTemporalLifter((3, 3), channels=8).train()
    model(torch.randn(4, 9, 16, 2)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
