import pytest
import torch

from models.lifter_poseformer import PoseFormerLifter, SingleFramePoseFormerLifter


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = PoseFormerLifter(num_frames=9, joint_dim=8, depth=2, drop_path_rate=0.0)
    with torch.no_grad():
        model.spatial_pos_embed.normal_()
        model.temporal_pos_embed.normal_()
    return model.eval()


def test_parameter_count_single_frame_default():
    model = SingleFramePoseFormerLifter()
    assert sum(p.numel() for p in model.parameters()) == 8_473_170


def test_drop_path_rises_linearly_over_blocks():
    model = PoseFormerLifter(num_frames=3, joint_dim=8, drop_path_rate=0.1)
    rates = [b.drop_path.rate for b in model.temporal_blocks]
    assert rates == pytest.approx([0.0, 0.1 / 3, 0.2 / 3, 0.1])
    assert [b.drop_path.rate for b in model.spatial_blocks] == rates


@pytest.mark.parametrize("batch", [1, 3])
def test_window_shapes(small, batch):
    with torch.no_grad():
        assert small(torch.randn(batch, 9, 16, 2)).shape == (batch, 1, 16, 3)


def test_wrong_window_length_is_rejected(small):
    with pytest.raises(ValueError, match=r"\(N, 9, 16, 2\)"):
        small(torch.randn(2, 27, 16, 2))


def test_samples_are_independent(small):
    x = torch.randn(3, 9, 16, 2)
    with torch.no_grad():
        assert torch.allclose(small(x)[1:2], small(x[1:2]), atol=1e-5)


def test_every_frame_contributes_and_train_equals_eval_without_drop_path(small):
    x = torch.randn(1, 9, 16, 2)
    with torch.no_grad():
        out = small(x)
        for t in (0, 4, 8):
            y = x.clone()
            y[0, t] += 1.0
            assert not torch.allclose(small(y), out)
        small.train()
        try:
            assert torch.allclose(small(x), out, atol=1e-6)
        finally:
            small.eval()


def test_single_frame_variant_matches_one_frame_window():
    torch.manual_seed(1)
    model = SingleFramePoseFormerLifter(joint_dim=8, depth=1).eval()
    x = torch.randn(3, 16, 2)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (3, 16, 3)
        assert torch.equal(out, model(x.reshape(3, 32)))
        assert torch.allclose(out, PoseFormerLifter.forward(model, x.unsqueeze(1))[:, 0])
        assert model(x[:1]).shape == (1, 16, 3)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(2)
    model = PoseFormerLifter(num_frames=3, joint_dim=8, depth=1).train()
    model(torch.randn(2, 3, 16, 2)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
