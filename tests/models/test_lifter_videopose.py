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


# --- the GEMM form equals the convolution form it replaces -----------------------------------
def _conv_reference(model, x):
    """The strided TCN written with F.conv1d on (N, C, L) features, from the model's weights."""
    widths = model.filter_widths
    n, frames = x.shape[:2]

    def bn_act(h, bn):
        h = torch.nn.functional.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                           model.training, bn.momentum, bn.eps)
        return model.drop(torch.relu(h))

    h = x.reshape(n, frames, -1).transpose(1, 2)
    h = bn_act(torch.nn.functional.conv1d(h, model.expand_conv.weight, stride=widths[0]),
               model.expand_bn)
    for i in range(1, len(widths)):
        res = h[:, :, widths[i] // 2::widths[i]]
        conv, conv1 = model.layers_conv[2 * i - 2], model.layers_conv[2 * i - 1]
        h = bn_act(torch.nn.functional.conv1d(h, conv.weight, stride=widths[i]),
                   model.layers_bn[2 * i - 2])
        h = res + bn_act(torch.nn.functional.conv1d(h, conv1.weight), model.layers_bn[2 * i - 1])
    out = torch.nn.functional.conv1d(h, model.shrink.weight, model.shrink.bias).transpose(1, 2)
    return out.reshape(n, out.shape[1], -1, 3)


def _same_gradient(a, b):
    """Equal to float32 rounding: within 1e-5 of the gradient's scale (at least 1)."""
    return float((a - b).abs().max()) < 1e-5 * max(1.0, float(b.abs().max()))


def _twins(widths, seed):
    """Two identical strided TCNs (dropout 0: train mode differs only by batch statistics)."""
    torch.manual_seed(seed)
    a = StridedTemporalLifter(widths, channels=24, dropout=0.0)
    _randomise_bn(a, seed + 1)
    b = StridedTemporalLifter(widths, channels=24, dropout=0.0)
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("widths", [(1,), (3, 3), (3, 3, 3), (3, 3, 3, 3)])
@pytest.mark.parametrize("train", [False, True])
def test_gemm_form_equals_convolution_form_with_gradients(widths, train):
    gemm, conv = _twins(widths, 10)
    gemm.train(train), conv.train(train)
    rf = gemm.receptive_field
    x = torch.randn(3, 2 * rf, 16, 2)                       # two output frames per sample
    xg, xc = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, ref = gemm(xg), _conv_reference(conv, xc)
    assert out.shape == ref.shape == (3, 2, 16, 3)
    assert (out - ref).abs().max() < 1e-5
    w = torch.randn_like(out)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    assert _same_gradient(xg.grad, xc.grad)
    grads = dict(conv.named_parameters())
    for name, p in gemm.named_parameters():
        assert _same_gradient(p.grad, grads[name].grad), name
    buffers = dict(conv.named_buffers())                    # same running statistics
    for name, b in gemm.named_buffers():
        if "running" in name:
            assert torch.allclose(b, buffers[name], atol=1e-6), name


def test_single_frame_train_mode_with_dropout_matches_convolution_form():
    # (B, C, 1) and (B, 1, C) hold the same elements in the same order: same dropout masks
    torch.manual_seed(12)
    model = VideoPoseLifter(stages=2, channels=32, dropout=0.25).train()
    x = torch.randn(6, 16, 2)
    torch.manual_seed(13)
    out = model(x)
    torch.manual_seed(13)
    ref = _conv_reference(model, x.unsqueeze(1))[:, 0]
    assert (out[:, 1:] - ref).abs().max() < 1e-5
    assert torch.count_nonzero(out[:, 0]) == 0


def _videopose3d_state_dict(widths, channels, joints_out, generator):
    """A state dict laid out as VideoPose3D's TemporalModelOptimized1f, from its layer shapes."""
    shapes = {"expand_conv.weight": (channels, 32, widths[0])}
    bn_names = ["expand_bn"]
    for i in range(1, len(widths)):
        shapes[f"layers_conv.{2 * i - 2}.weight"] = (channels, channels, widths[i])
        shapes[f"layers_conv.{2 * i - 1}.weight"] = (channels, channels, 1)
        bn_names += [f"layers_bn.{2 * i - 2}", f"layers_bn.{2 * i - 1}"]
    shapes["shrink.weight"] = (3 * joints_out, channels, 1)
    shapes["shrink.bias"] = (3 * joints_out,)
    state = {k: 0.1 * torch.randn(s, generator=generator) for k, s in shapes.items()}
    for bn in bn_names:
        state[f"{bn}.weight"] = torch.rand(channels, generator=generator) + 0.5
        state[f"{bn}.bias"] = torch.rand(channels, generator=generator) - 0.5
        state[f"{bn}.running_mean"] = torch.rand(channels, generator=generator) - 0.5
        state[f"{bn}.running_var"] = torch.rand(channels, generator=generator) + 0.5
        state[f"{bn}.num_batches_tracked"] = torch.tensor(7)
    return state


@pytest.mark.parametrize("model_cls, widths", [(StridedTemporalLifter, (3, 3)),
                                               (DilatedTemporalLifter, (3, 3))])
def test_videopose3d_layout_state_dict_loads_unchanged(model_cls, widths):
    state = _videopose3d_state_dict(widths, 20, 16, torch.Generator().manual_seed(14))
    model = model_cls(widths, channels=20)
    model.load_state_dict(state, strict=True)
    assert set(model.state_dict()) == set(state)
    x = torch.randn(2, 9, 16, 2)
    with torch.no_grad():
        assert (model.eval()(x) - _conv_reference(model, x)).abs().max() < 1e-5


def test_poseaug_single_frame_state_dict_loads_unchanged():
    state = _videopose3d_state_dict((1,) * 3, 24, 15, torch.Generator().manual_seed(15))
    model = VideoPoseLifter(stages=2, channels=24)
    model.load_state_dict(state, strict=True)
    x = torch.randn(4, 16, 2)
    with torch.no_grad():
        ref = _conv_reference(model.eval(), x.unsqueeze(1))[:, 0]
        assert (model(x)[:, 1:] - ref).abs().max() < 1e-5
