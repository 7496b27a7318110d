"""seqlib._fused: the fused LSTM and GRU equal torch.nn's (float64, copied weights), bad input."""
import numpy as np
import pytest
import torch
from torch import nn

import seqlib._checks
import seqlib._fused as fused
from seqlib.gru import gru_layer
from seqlib.lstm import lstm_layer

F64 = torch.float64
TOL = {"rtol": 0, "atol": 1e-10}
B, T, D, H = 4, 7, 3, 5
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def torch_layer(cell, seed=0):
    torch.manual_seed(seed)
    return (nn.LSTM if cell == "lstm" else nn.GRU)(D, H, batch_first=True).to(F64)


def params_of(module):
    return [getattr(module, name) for name in NAMES]


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(B, T, D, generator=g, dtype=F64, requires_grad=True)
    h0 = torch.randn(B, H, generator=g, dtype=F64, requires_grad=True)
    c0 = torch.randn(B, H, generator=g, dtype=F64, requires_grad=True)
    return X, h0, c0


def weights(out, seed=2):
    """Random weights for a loss on every output, so every output's gradient is tested."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(a.shape, generator=g, dtype=F64) for a in out]


def run_both(cell, X, h0, c0, ref):
    """(ours, torch's) outputs as flat lists: out, h_T (, c_T)."""
    if cell == "lstm":
        out, (h, c) = fused.lstm_layer_fused(X, *params_of(ref), h0=h0, c0=c0)
        state = None if h0 is None else (h0[None], c0[None])
        out_ref, (h_ref, c_ref) = ref(X, state)
        return [out, h, c], [out_ref, h_ref[0], c_ref[0]]
    out, h = fused.gru_layer_fused(X, *params_of(ref), h0=h0)
    out_ref, h_ref = ref(X, None if h0 is None else h0[None])
    return [out, h], [out_ref, h_ref[0]]


# --- equality with torch.nn ----------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("loss_on", ["all", "outputs", "final"])
def test_values_and_gradients_equal_torch(cell, with_state, loss_on):
    ref = torch_layer(cell)
    X, h0, c0 = inputs()
    if not with_state:
        h0 = c0 = None
    ours, theirs = run_both(cell, X, h0, c0, ref)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, **TOL)
    # "final": the gradient reaches the layer only through h_T (and c_T); "outputs":
    # only through the output sequence; "all": through everything at once
    keep = {"all": range(len(ours)), "outputs": [0], "final": range(1, len(ours))}[loss_on]
    w = weights(ours)
    states = [] if not with_state else [h0, c0] if cell == "lstm" else [h0]
    wrt = [X, *states, *params_of(ref)]
    g_ours = torch.autograd.grad(sum((ours[k] * w[k]).sum() for k in keep), wrt)
    g_ref = torch.autograd.grad(sum((theirs[k] * w[k]).sum() for k in keep), wrt)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_equal_to_the_step_by_step_layer(cell):
    ref = torch_layer(cell, seed=3)
    X, h0, c0 = (a.detach() for a in inputs(seed=4))
    if cell == "lstm":
        out, (h, c) = fused.lstm_layer_fused(X, *params_of(ref), h0, c0)
        out_s, (h_s, c_s) = lstm_layer(X, *params_of(ref), h0=h0, c0=c0)
        pairs = [(out, out_s), (h, h_s), (c, c_s)]
    else:
        out, h = fused.gru_layer_fused(X, *params_of(ref), h0)
        out_s, h_s = gru_layer(X, *params_of(ref), h0=h0)
        pairs = [(out, out_s), (h, h_s)]
    for a, b in pairs:
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_only_the_gradients_asked_for(cell):
    # frozen weights, X differentiable: the backward pass skips the weight gradients
    ref = torch_layer(cell, seed=5).requires_grad_(False)
    X = inputs()[0]
    layer = fused.lstm_layer_fused if cell == "lstm" else fused.gru_layer_fused
    (g,) = torch.autograd.grad(layer(X, *params_of(ref))[0].sum(), [X])
    (g_ref,) = torch.autograd.grad(ref(X)[0].sum(), [X])
    torch.testing.assert_close(g, g_ref, **TOL)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_float32_close_to_torch(cell):
    ref = torch_layer(cell, seed=6).float()
    X = inputs()[0].detach().float()
    layer = fused.lstm_layer_fused if cell == "lstm" else fused.gru_layer_fused
    torch.testing.assert_close(layer(X, *params_of(ref))[0], ref(X)[0], rtol=0, atol=1e-5)


# --- autograd checks -------------------------------------------------------------------

# torch's own forward-mode set-up (make_dual) compiles helpers with torch.jit.script
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradcheck_backward_and_forward_mode(cell):
    g = torch.Generator().manual_seed(7)
    Bs, Ts, Ds, Hs = 2, 3, 2, 3
    n = 4 if cell == "lstm" else 3
    shapes = [(Bs, Ts, Ds), (n * Hs, Ds), (n * Hs, Hs), (n * Hs,), (n * Hs,), (Bs, Hs)]
    shapes += [(Bs, Hs)] * (cell == "lstm")
    args = [torch.randn(s, generator=g, dtype=F64, requires_grad=True) for s in shapes]

    def f(*a):
        if cell == "lstm":
            out, (h, c) = fused.lstm_layer_fused(*a)
            return out, h, c
        return fused.gru_layer_fused(*a)
    assert torch.autograd.gradcheck(f, args, check_forward_ad=True)


def test_forward_mode_under_no_grad_as_chapter_6_uses_it():
    # torch.func.jvp of the layer with respect to X (chapter 6's memory probe)
    ref = torch_layer("gru", seed=8).requires_grad_(False)
    X, h0, _ = (a.detach() for a in inputs())
    V = torch.randn(X.shape, generator=torch.Generator().manual_seed(9), dtype=F64)
    with torch.no_grad():
        ours = torch.func.jvp(lambda X_: fused.gru_layer_fused(X_, *params_of(ref), h0)[0],
                              (X,), (V,))[1]
        steps = torch.func.jvp(lambda X_: gru_layer(X_, *params_of(ref), h0=h0)[0], (X,), (V,))[1]
    torch.testing.assert_close(ours, steps, **TOL)


def test_backward_twice_is_refused():
    ref = torch_layer("lstm")
    X = inputs()[0]
    out = fused.lstm_layer_fused(X, *params_of(ref))[0]
    (g,) = torch.autograd.grad(out.sum(), [X], create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


# --- bad input -------------------------------------------------------------------------

def test_input_is_validated_once_per_call_not_per_step(monkeypatch):
    calls = []
    check = seqlib._checks.check_tensor

    def counting(*a, **k):
        calls.append(a[1])
        return check(*a, **k)
    monkeypatch.setattr(fused, "check_tensor", counting)
    monkeypatch.setattr("seqlib._stacked.check_tensor", counting)
    ref = torch_layer("lstm")
    counts = []
    for length in (1, 30):
        calls.clear()
        fused.lstm_layer_fused(torch.zeros(B, length, D, dtype=F64), *params_of(ref))
        counts.append(len(calls))
    assert counts[0] == counts[1] > 0


def test_bad_input_raises_value_error_naming_the_argument():
    W4, W4h, b4 = (torch.zeros(s, dtype=F64) for s in [(4 * H, D), (4 * H, H), (4 * H,)])
    W3, W3h, b3 = (torch.zeros(s, dtype=F64) for s in [(3 * H, D), (3 * H, H), (3 * H,)])
    X, h = torch.zeros(B, T, D, dtype=F64), torch.zeros(B, H, dtype=F64)
    lstm, gru = fused.lstm_layer_fused, fused.gru_layer_fused
    cases = [
        (lambda: lstm(X[0], W4, W4h, b4, b4), r"X must have shape \(B, T, D\)"),
        (lambda: lstm(X[:, :, :2], W4, W4h, b4, b4), "X must have D = 3"),
        (lambda: lstm(X[:, :0], W4, W4h, b4, b4), "non-empty"),
        (lambda: lstm(X.float(), W4, W4h, b4, b4), "X must be a torch tensor of dtype"),
        (lambda: lstm(X.numpy(), W4, W4h, b4, b4), "X must be a torch tensor"),
        (lambda: lstm(X, W4, W4h, b4, b4, h0=h[:2]), "h0 must have B = 4"),
        (lambda: lstm(X, W4, W4h, b4, b4, c0=h[:, :2]), "c0 must have H = 5"),
        (lambda: lstm(X, W4, W4h, b4, b4, c0=h.float()), "c0 must be a torch tensor of dtype"),
        (lambda: lstm(X, W4[:-1], W4h, b4, b4), "W_ih"),
        (lambda: lstm(X, W4, W4h[:, :2], b4, b4), "W_hh"),
        (lambda: lstm(X, W4, W4h, b4, b4.float()), "one dtype"),
        (lambda: gru(X, W4, W4h, b4, b4), "W_ih"),  # 4H rows are not 3 parts of 5 + 5 + 5
        (lambda: gru(X, W3, W3h, b3, b3, h0=np.zeros((B, H))), "h0 must be a torch tensor"),
        (lambda: gru(X, W3, W3h, b3, b3, h0=h[None]), r"h0 must have shape \(B, H\)"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
