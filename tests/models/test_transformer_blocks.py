import math

import pytest
import torch

from models.transformer_blocks import DropPath, FeedForward, MultiHeadSelfAttention, TransformerBlock


def test_attention_matches_per_head_reference():
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(dim=16, heads=4).eval()
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).split(16, dim=-1)
        heads = []
        for h in range(4):
            s = slice(4 * h, 4 * h + 4)
            w = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(4), dim=-1)
            heads.append(w @ v[..., s])
        expected = torch.cat(heads, dim=-1) @ attn.proj.weight.T + attn.proj.bias
        assert torch.allclose(attn(x), expected, atol=1e-5)


def test_attention_rejects_indivisible_width():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(dim=10, heads=4)


def test_drop_path_zeroes_whole_samples_and_keeps_the_mean():
    torch.manual_seed(1)
    dp = DropPath(0.5).train()
    out = dp(torch.ones(4000, 3, 2))
    per_sample = out.reshape(4000, -1)
    assert torch.all((per_sample == 0).all(1) | (per_sample == 2).all(1))
    assert abs(float(out.mean()) - 1.0) < 0.08
    dp.eval()
    x = torch.randn(5, 3)
    assert dp(x) is x
    assert DropPath(0.0).train()(x) is x
    with pytest.raises(ValueError):
        DropPath(1.0)


def test_feed_forward_is_linear_gelu_linear():
    torch.manual_seed(2)
    ff = FeedForward(6, 12)
    x = torch.randn(3, 6)
    with torch.no_grad():
        h = torch.nn.functional.gelu(x @ ff.fc1.weight.T + ff.fc1.bias)
        assert torch.allclose(ff(x), h @ ff.fc2.weight.T + ff.fc2.bias, atol=1e-6)


def test_block_is_token_permutation_equivariant_and_deterministic_without_drop_path():
    torch.manual_seed(3)
    block = TransformerBlock(32, heads=8, mlp_ratio=2.0, drop_path=0.0).train()
    x = torch.randn(2, 7, 32)
    perm = torch.randperm(7)
    with torch.no_grad():
        out = block(x)
        assert torch.allclose(block(x[:, perm]), out[:, perm], atol=1e-5)
        assert torch.equal(block.eval()(x), out)
    assert block.norm1.eps == 1e-6 and block.mlp.fc1.out_features == 64
