"""Causal self-attention equals torch's (float64, copied weights) and rejects bad input."""
import math

import pytest
import torch
import torch.nn.functional as F

from seqlib.attention import CausalSelfAttention, causal_mask, scaled_dot_product_attention

F64 = torch.float64


def test_scaled_dot_product_attention_equals_torch():
    torch.manual_seed(0)
    Q, K, V = (torch.randn(2, 3, 5, 4, dtype=F64) for _ in range(3))
    for causal in (True, False):
        ours, A = scaled_dot_product_attention(Q, K, V, causal=causal)
        theirs = F.scaled_dot_product_attention(Q, K, V, is_causal=causal)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-10)
        torch.testing.assert_close(A.sum(-1), torch.ones(2, 3, 5, dtype=F64), rtol=0, atol=1e-12)
    _, A = scaled_dot_product_attention(Q, K, V, causal=True)
    assert bool((A.masked_select(~causal_mask(5)) == 0).all()), "a position read the future"


@pytest.mark.parametrize("n_heads", [1, 2, 4])
def test_self_attention_equals_multihead_attention(n_heads):
    torch.manual_seed(n_heads)
    H, T = 8, 6
    ref = torch.nn.MultiheadAttention(H, n_heads, batch_first=True, dtype=F64)
    with torch.no_grad():
        ref.in_proj_bias.normal_()
        ref.out_proj.bias.normal_()
    ours = CausalSelfAttention.from_torch(ref)
    x = torch.randn(3, T, H, dtype=F64, requires_grad=True)
    mask = ~causal_mask(T)  # torch: True means "may NOT attend"
    theirs, _ = ref(x, x, x, attn_mask=mask, need_weights=False)
    out = ours(x)
    torch.testing.assert_close(out, theirs, rtol=0, atol=1e-10)
    g_ours = torch.autograd.grad(out.square().sum(), x)[0]
    g_theirs = torch.autograd.grad(theirs.square().sum(), x)[0]
    torch.testing.assert_close(g_ours, g_theirs, rtol=0, atol=1e-10)


def test_the_future_does_not_change_the_past():
    torch.manual_seed(0)
    attn = CausalSelfAttention(8, 2, dtype=F64)
    x = torch.randn(1, 6, 8, dtype=F64)
    y = x.clone()
    y[:, 4:] += 1.0
    torch.testing.assert_close(attn(x)[:, :4], attn(y)[:, :4], rtol=0, atol=1e-12)


@pytest.mark.parametrize("qk_norm", ["rms", "l2"])
def test_qk_norm_bounds_the_logits(qk_norm):
    torch.manual_seed(0)
    attn = CausalSelfAttention(8, 2, qk_norm=qk_norm, dtype=F64)
    x = 1000.0 * torch.randn(2, 5, 8, dtype=F64)   # huge activations
    with torch.no_grad():
        _, A = attn(x, return_weights=True)
    assert torch.isfinite(A).all()
    # with unit-RMS (or unit-length, scaled) queries and keys, no weight is exactly one-hot
    assert float(A[..., 1:, :].max()) < 1.0
    plain = CausalSelfAttention(8, 2, dtype=F64)
    with torch.no_grad():
        _, A_plain = plain(x, return_weights=True)
    assert float(A_plain[..., 1:, :].max()) > float(A[..., 1:, :].max())


def test_bad_input():
    with pytest.raises(ValueError, match="divisible"):
        CausalSelfAttention(6, 4)
    with pytest.raises(ValueError, match="qk_norm"):
        CausalSelfAttention(8, 2, qk_norm="layer")
    attn = CausalSelfAttention(8, 2)
    with pytest.raises(ValueError, match="H = 8"):
        attn(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="float"):
        attn(torch.ones(2, 5, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="batch_first"):
        CausalSelfAttention.from_torch(torch.nn.MultiheadAttention(8, 2))
    Q = torch.randn(2, 5, 4)
    with pytest.raises(ValueError, match="same shape"):
        scaled_dot_product_attention(Q, Q[:, :3], Q)
    with pytest.raises(ValueError, match="scale"):
        scaled_dot_product_attention(Q, Q, Q, scale=math.nan)
    with pytest.raises(ValueError, match="T"):
        causal_mask(0)
