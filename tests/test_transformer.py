"""Transformer blocks: post- and pre-norm equal torch.nn.TransformerEncoderLayer
(float64, copied weights, causal mask); the other placements do what they say."""
import pytest
import torch

from seqlib.attention import causal_mask
from seqlib.transformer import DyT, TinyLM, TransformerBlock, deepnorm_constants

F64 = torch.float64


def _copy_from_torch(ours: TransformerBlock, ref: torch.nn.TransformerEncoderLayer):
    with torch.no_grad():
        ours.attn.in_proj_weight.copy_(ref.self_attn.in_proj_weight)
        ours.attn.in_proj_bias.copy_(ref.self_attn.in_proj_bias)
        ours.attn.out_proj.weight.copy_(ref.self_attn.out_proj.weight)
        ours.attn.out_proj.bias.copy_(ref.self_attn.out_proj.bias)
        for mine, theirs in ((ours.ff.fc1, ref.linear1), (ours.ff.fc2, ref.linear2)):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
        for mine, theirs in ((ours.norm1, ref.norm1), (ours.norm2, ref.norm2)):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)


@pytest.mark.parametrize("placement, norm_first", [("post", False), ("pre", True)])
def test_block_equals_torch_encoder_layer(placement, norm_first):
    torch.manual_seed(0)
    H, heads, d_ff, T = 8, 2, 16, 5
    ref = torch.nn.TransformerEncoderLayer(H, heads, d_ff, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=norm_first, dtype=F64)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))   # non-trivial gains and biases
    ours = TransformerBlock(H, heads, d_ff, placement=placement).to(F64)
    _copy_from_torch(ours, ref)
    x = torch.randn(3, T, H, dtype=F64)
    theirs = ref(x, src_mask=~causal_mask(T), is_causal=True)
    torch.testing.assert_close(ours(x), theirs, rtol=0, atol=1e-10)


def test_peri_normalizes_each_branch_output():
    torch.manual_seed(0)
    block = TransformerBlock(8, 2, 16, placement="peri").to(F64)
    x = 100.0 * torch.randn(2, 5, 8, dtype=F64)
    # each sub-layer adds a LayerNorm output (unit RMS per token at init): the
    # stream moves by O(1) however large x is
    with torch.no_grad():
        step = block(x) - x
    assert float(step.pow(2).mean().sqrt()) < 3.0


def test_deepnorm_constants_and_scaled_init():
    alpha, beta = deepnorm_constants(6)
    assert alpha == pytest.approx(12 ** 0.25) and beta == pytest.approx(48 ** -0.25)
    torch.manual_seed(0)
    plain = TransformerBlock(8, 2, 16, placement="post")
    torch.manual_seed(0)
    deep = TransformerBlock(8, 2, 16, placement="deepnorm", n_blocks=6)
    torch.testing.assert_close(deep.ff.fc1.weight, beta * plain.ff.fc1.weight)
    torch.testing.assert_close(deep.attn.in_proj_weight[:16], plain.attn.in_proj_weight[:16])
    torch.testing.assert_close(deep.attn.in_proj_weight[16:], beta * plain.attn.in_proj_weight[16:])
    assert deep.alpha == pytest.approx(alpha)


def test_dyt_is_a_scaled_tanh():
    dyt = DyT(4, alpha0=0.5)
    x = torch.linspace(-10, 10, 8).reshape(2, 4)
    with torch.no_grad():
        torch.testing.assert_close(dyt(x), torch.tanh(0.5 * x))
        assert float(dyt(1e6 * x).abs().max()) <= 1.0


@pytest.mark.parametrize("placement", ["post", "pre", "peri", "deepnorm", "dyt"])
def test_tiny_lm_runs_and_is_causal(placement):
    model = TinyLM(11, 8, H=16, n_heads=2, d_ff=32, L=2, placement=placement, seed=1)
    ids = torch.randint(0, 11, (2, 8))
    logits = model(ids)
    assert logits.shape == (2, 8, 11) and torch.isfinite(logits).all()
    changed = ids.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    torch.testing.assert_close(model(changed)[:, :5], logits[:, :5])


def test_tying_saves_the_output_matrix_and_seed_fixes_init():
    untied = TinyLM(50, 8, H=16, L=1, seed=3)
    tied = TinyLM(50, 8, H=16, L=1, tie=True, seed=3)
    assert untied.num_parameters() - tied.num_parameters() == 50 * 16
    assert tied.head.weight is tied.embed.weight
    again = TinyLM(50, 8, H=16, L=1, seed=3)
    torch.testing.assert_close(again.embed.weight, untied.embed.weight)


@pytest.mark.parametrize("placement", ["post", "pre", "peri", "deepnorm"])
@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_torch_norms_compute_the_same_block(placement, norm):
    ours = TinyLM(11, 8, H=16, n_heads=2, d_ff=32, L=2, placement=placement, norm=norm,
                  seed=2).to(F64)
    fused = TinyLM(11, 8, H=16, n_heads=2, d_ff=32, L=2, placement=placement, norm=norm,
                   seed=2, impl="torch").to(F64)
    assert isinstance(fused.blocks[0].norm1, (torch.nn.LayerNorm, torch.nn.RMSNorm))
    fused.load_state_dict(ours.state_dict())   # same parameter names
    ids = torch.randint(0, 11, (3, 8))
    torch.testing.assert_close(fused(ids), ours(ids), rtol=0, atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="placement"):
        TransformerBlock(8, 2, 16, placement="middle")
    with pytest.raises(ValueError, match="norm"):
        TransformerBlock(8, 2, 16, norm="batch")
    model = TinyLM(11, 8, H=16, L=1)
    with pytest.raises(ValueError, match="T_max"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="ids"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="ids"):
        model(torch.full((1, 4), 11))
    with pytest.raises(ValueError, match="impl"):
        TransformerBlock(8, 2, 16, impl="fused")
    with pytest.raises(ValueError, match="alpha0"):
        DyT(4, alpha0=float("nan"))
