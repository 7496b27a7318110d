"""seqlib.gru: equality with torch.nn.GRU, the conventions, parameter counts, bad input."""
import pytest
import torch
from torch import nn

from seqlib import gru
from seqlib.gradients import max_abs_diff

TOL = dict(rtol=0, atol=1e-10)
D, H = 3, 5


def _params(seed=0, scale=0.8):
    g = torch.Generator().manual_seed(seed)
    shapes = [(3 * H, D), (3 * H, H), (3 * H,), (3 * H,)]
    return [scale * torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


def _inputs(B=4, T=7, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, T, D, generator=g, dtype=torch.float64),
            torch.randn(B, H, generator=g, dtype=torch.float64))


# --- equality with torch.nn --------------------------------------------------------

def test_gru_layer_equals_torch_gru_with_gradients():
    torch.manual_seed(0)
    ref = nn.GRU(D, H, batch_first=True).double()
    ours = gru.GRULayer.from_torch(ref)
    X, h0 = _inputs()
    Xa, Xb = X.clone().requires_grad_(), X.clone().requires_grad_()
    out_a, h_a = ours(Xa, h0)
    out_b, h_b = ref(Xb, h0[None])
    torch.testing.assert_close(out_a, out_b, **TOL)
    torch.testing.assert_close(h_a, h_b[0], **TOL)
    w = torch.randn(out_a.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    (out_a * w).sum().backward()
    (out_b * w).sum().backward()
    torch.testing.assert_close(Xa.grad, Xb.grad, **TOL)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        torch.testing.assert_close(getattr(ours, name).grad, getattr(ref, name).grad, **TOL)


def test_gru_cell_equals_torch_grucell_and_gates_have_their_ranges():
    W_ih, W_hh, b_ih, b_hh = _params()
    cell = nn.GRUCell(D, H).double()
    with torch.no_grad():
        for name, p in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (W_ih, W_hh, b_ih, b_hh)):
            getattr(cell, name).copy_(p)
    X, h = _inputs()
    torch.testing.assert_close(gru.gru_cell(X[:, 0], h, W_ih, W_hh, b_ih, b_hh), cell(X[:, 0], h), **TOL)
    r, z, n = gru.gru_gates(X[:, 0], h, W_ih, W_hh, b_ih, b_hh)
    assert r.shape == z.shape == n.shape == (4, H)
    assert bool(((r > 0) & (r < 1) & (z > 0) & (z < 1) & (n.abs() < 1)).all())


def test_to_torch_round_trip_and_replace_layer_converts():
    layer = gru.GRULayer(D, H)
    X, h0 = _inputs()
    torch.testing.assert_close(layer.to_torch()(X, h0[None])[0], layer(X, h0)[0], **TOL)
    chung = gru.GRULayer(D, H, update="replace")
    torch.testing.assert_close(chung.to_torch()(X, h0[None])[0], chung(X, h0)[0], **TOL)
    assert "reset='after'" in repr(layer)


# --- conventions --------------------------------------------------------------------

def test_flipping_the_update_gate_swaps_keep_and_replace_exactly():
    params = _params()
    X, h0 = _inputs()
    keep, _ = gru.gru_layer(X, *params, h0=h0, update="keep")
    replace, _ = gru.gru_layer(X, *gru.flip_update_gate(*params), h0=h0, update="replace")
    torch.testing.assert_close(keep, replace, **TOL)
    # without the flip the two conventions disagree
    assert max_abs_diff(keep, gru.gru_layer(X, *params, h0=h0, update="replace")[0]) > 1e-2
    # the flip is its own inverse and does not touch its inputs
    back = gru.flip_update_gate(*gru.flip_update_gate(*params))
    for a, b in zip(back, params):
        assert torch.equal(a, b)
    for reset in gru.RESETS:  # holds for either reset convention
        torch.testing.assert_close(
            gru.gru_layer(X, *params, h0=h0, reset=reset)[0],
            gru.gru_layer(X, *gru.flip_update_gate(*params), h0=h0, reset=reset, update="replace")[0], **TOL)


def test_reset_before_is_a_different_function_except_in_special_cases():
    params = _params()
    X, h0 = _inputs()
    after, _ = gru.gru_layer(X, *params, h0=h0, reset="after")
    before, _ = gru.gru_layer(X, *params, h0=h0, reset="before")
    assert max_abs_diff(after, before) > 1e-2
    # r * (W h + b) == W (r * h) + b exactly when W_hn is diagonal and b_hn = 0
    W_ih, W_hh, b_ih, b_hh = (p.clone() for p in params)
    W_hh[2 * H:] = torch.diag(torch.diagonal(W_hh[2 * H:]))
    b_hh[2 * H:] = 0.0
    torch.testing.assert_close(gru.gru_layer(X, W_ih, W_hh, b_ih, b_hh, h0=h0, reset="after")[0],
                               gru.gru_layer(X, W_ih, W_hh, b_ih, b_hh, h0=h0, reset="before")[0], **TOL)


def test_reset_before_equals_the_concatenated_textbook_form():
    """Cho / Chung / seed 004: h~ = tanh(W_h [r * h; x] + b_h), one bias per part."""
    W_ih, W_hh, b_ih, b_hh = _params()
    X, h = _inputs()
    x = X[:, 0]
    Wr, Wz, Wn = (torch.cat([W_hh[k * H:(k + 1) * H], W_ih[k * H:(k + 1) * H]], dim=1) for k in range(3))
    br, bz, bn = (b_ih + b_hh).split(H)
    r = torch.sigmoid(torch.cat([h, x], 1) @ Wr.T + br)
    z = torch.sigmoid(torch.cat([h, x], 1) @ Wz.T + bz)
    h_tilde = torch.tanh(torch.cat([r * h, x], 1) @ Wn.T + bn)
    h_new = (1 - z) * h + z * h_tilde
    ours = gru.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh, reset="before", update="replace")
    torch.testing.assert_close(ours, h_new, **TOL)


def test_return_gates_and_gradcheck_of_the_cho_variant():
    params = [p.clone().requires_grad_() for p in _params(scale=0.5)]
    X, h0 = _inputs(B=2, T=4)
    out, h_T, gates = gru.gru_layer(X, *params, h0=h0, reset="before", return_gates=True)
    assert set(gates) == {"r", "z", "n"} and gates["z"].shape == (2, 4, H)
    torch.testing.assert_close(out[:, -1], h_T, **TOL)
    assert torch.autograd.gradcheck(
        lambda *p: gru.gru_layer(X, *p, h0=h0, reset="before", update="replace")[0], tuple(params))


def test_a_saturated_update_gate_keeps_the_state():
    W_ih, W_hh, b_ih, b_hh = _params()
    b_ih = b_ih.clone()
    b_ih[H:2 * H] = 30.0  # z = sigmoid(~30) = 1 - 1e-13: keep everything
    X, h0 = _inputs(T=20)
    out, h_T = gru.gru_layer(X, W_ih, W_hh, b_ih, b_hh, h0=h0)
    assert max_abs_diff(h_T, h0) < 1e-9


# --- parameter counts ------------------------------------------------------------------

@pytest.mark.parametrize("D_, H_", [(1, 1), (3, 5), (32, 64), (10, 256)])
def test_param_count_matches_torch_and_ratio_is_1_3_4(D_, H_):
    mods = {"rnn": nn.RNN(D_, H_), "gru": nn.GRU(D_, H_), "lstm": nn.LSTM(D_, H_)}
    for cell, m in mods.items():
        assert gru.param_count(cell, D_, H_) == sum(p.numel() for p in m.parameters())
    n = {c: gru.param_count(c, D_, H_) for c in mods}
    assert 3 * n["rnn"] == n["gru"] and 4 * n["rnn"] == n["lstm"]


# --- bad input -------------------------------------------------------------------------

def test_bad_input_raises_one_clear_value_error():
    W_ih, W_hh, b_ih, b_hh = _params()
    X, h = _inputs()
    cases = [
        (lambda: gru.gru_cell(X[:, 0], h, W_ih[:-1], W_hh, b_ih, b_hh), "divisible by 3"),
        (lambda: gru.gru_cell(X[:, 0], h, W_ih, W_hh[:, :-1], b_ih, b_hh), r"W_hh must have H = 5"),
        (lambda: gru.gru_cell(X[:, 0], h, W_ih, W_hh, b_ih[:-1], b_hh), r"b_ih must have 3H = 15"),
        (lambda: gru.gru_cell(X[:, 0], h, W_ih, W_hh, b_ih, b_hh.float()), "share one dtype"),
        (lambda: gru.gru_cell(X[:, 0], h[:, :-1], W_ih, W_hh, b_ih, b_hh), "h_prev must have H = 5"),
        (lambda: gru.gru_cell(X[:, 0].float(), h, W_ih, W_hh, b_ih, b_hh), "dtype torch.float64"),
        (lambda: gru.gru_cell(X, h, W_ih, W_hh, b_ih, b_hh), r"x must have shape \(B, D\)"),
        (lambda: gru.gru_cell(X[:, 0], h, W_ih.numpy(), W_hh, b_ih, b_hh), "torch tensor"),
        (lambda: gru.gru_cell(X[:, 0], h, W_ih, W_hh, b_ih, b_hh, reset="middle"), "reset must be one of"),
        (lambda: gru.gru_cell(X[:, 0], h, W_ih, W_hh, b_ih, b_hh, update="swap"), "update must be one of"),
        (lambda: gru.gru_layer(X[:, :0], W_ih, W_hh, b_ih, b_hh), "non-empty"),
        (lambda: gru.gru_layer(X.float(), W_ih, W_hh, b_ih, b_hh), "X must be a torch tensor of dtype"),
        (lambda: gru.gru_layer(X, W_ih, W_hh, b_ih, b_hh, h0=h[:2]), "B = 4"),
        (lambda: gru.GRULayer(0, 4), "input_size"),
        (lambda: gru.GRULayer(3, 4, dtype=torch.int64), "floating"),
        (lambda: gru.GRULayer.from_torch(nn.LSTM(3, 4)), "torch.nn.GRU"),
        (lambda: gru.GRULayer.from_torch(nn.GRU(3, 4, num_layers=2)), "num_layers=1"),
        (lambda: gru.GRULayer(3, 4, reset="before").to_torch(), "no reset-before"),
        (lambda: gru.param_count("transformer", 3, 4), "cell must be one of"),
        (lambda: gru.param_count("gru", 3, 0), "H must be"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


# --- the cell diagram (chapter 6) ---------------------------------------------------------

def test_gru_cell_diagram_labels_every_symbol_and_rejects_a_non_axes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib import plots
    fig, ax = plt.subplots()
    plots.draw_gru_cell(ax, title="GRU")
    texts = " ".join(t.get_text() for t in ax.texts)
    for symbol in (r"\mathbf{z}_t", r"\mathbf{r}_t", r"\tilde{\mathbf{h}}_t", r"\mathbf{h}_{t-1}",
                   r"\mathbf{x}_t", r"1 - \mathbf{z}_t", r"\mathbf{W}_{xz}", r"\mathbf{W}_{hr}",
                   r"\mathbf{W}_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}", r"\mathbf{W}_{xn}"):
        assert symbol in texts, symbol
    assert ax.get_title() == "GRU"
    plt.close(fig)
    with pytest.raises(ValueError, match="matplotlib Axes"):
        plots.draw_gru_cell("not an axes")
