"""seqlib.lstm: equal to torch.nn.LSTM / LSTMCell (float64, copied weights), values and gradients."""
import numpy as np
import pytest
import torch

from seqlib.gradients import max_abs_diff
from seqlib.lstm import (GATE_ORDER, LSTMLayer, lstm_cell, lstm_gates, lstm_layer,
                         lstm_step_jacobian, state_jacobian_norms)

D, H, B, T = 3, 5, 4, 7
F64 = torch.float64





def torch_lstm(seed=0):
    torch.manual_seed(seed)
    return torch.nn.LSTM(D, H, batch_first=True).to(F64)


def params_of(module, suffix="_l0"):
    return [getattr(module, n + suffix) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def test_gate_order_is_torchs():
    assert GATE_ORDER == ("i", "f", "g", "o")


def test_cell_equals_torch_lstmcell_values_and_gradients():
    torch.manual_seed(1)
    ref = torch.nn.LSTMCell(D, H).to(F64)
    x = torch.randn(B, D, dtype=F64, requires_grad=True)
    h0 = torch.randn(B, H, dtype=F64, requires_grad=True)
    c0 = torch.randn(B, H, dtype=F64, requires_grad=True)
    ours = [p.detach().clone().requires_grad_() for p in params_of(ref, "")]
    h, c = lstm_cell(x, h0, c0, *ours)
    h_ref, c_ref = ref(x, (h0, c0))
    assert max_abs_diff(h, h_ref) < 1e-10 and max_abs_diff(c, c_ref) < 1e-10
    w_h, w_c = torch.randn(B, H, dtype=F64), torch.randn(B, H, dtype=F64)
    g_ours = torch.autograd.grad((h * w_h).sum() + (c * w_c).sum(), [x, h0, c0] + ours)
    g_ref = torch.autograd.grad((h_ref * w_h).sum() + (c_ref * w_c).sum(),
                                [x, h0, c0] + params_of(ref, ""))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_gates_are_in_range_and_bias_split_matches_torch_order():
    torch.manual_seed(2)
    W_ih, W_hh = torch.randn(4 * H, D, dtype=F64), torch.randn(4 * H, H, dtype=F64)
    b_ih, b_hh = torch.zeros(4 * H, dtype=F64), torch.zeros(4 * H, dtype=F64)
    b_ih[H:2 * H] = 50.0  # a huge forget bias: f must be 1 everywhere, the others untouched
    x, h = torch.randn(B, D, dtype=F64), torch.randn(B, H, dtype=F64)
    i, f, g, o = lstm_gates(x, h, W_ih, W_hh, b_ih, b_hh)
    assert torch.allclose(f, torch.ones_like(f))
    for gate in (i, o):
        assert gate.min() > 0 and gate.max() < 1 and not torch.allclose(gate, torch.ones_like(gate))
    assert g.min() > -1 and g.max() < 1
    # the forget part alone: with i = 0 (input bias -50) the cell is carried unchanged
    b_ih[:H] = -50.0
    c_prev = torch.randn(B, H, dtype=F64)
    _, c = lstm_cell(x, h, c_prev, W_ih, W_hh, b_ih, b_hh)
    assert max_abs_diff(c, c_prev) < 1e-12


@pytest.mark.parametrize("with_state", [False, True])
def test_layer_equals_torch_lstm_values_and_gradients(with_state):
    ref = torch_lstm()
    ours = LSTMLayer.from_torch(ref)
    X = torch.randn(B, T, D, dtype=F64, requires_grad=True)
    state = (torch.randn(B, H, dtype=F64), torch.randn(B, H, dtype=F64)) if with_state else None
    out, (h, c) = ours(X, state)
    ref_state = None if state is None else (state[0][None], state[1][None])
    out_ref, (h_ref, c_ref) = ref(X, ref_state)
    for a, b in ((out, out_ref), (h, h_ref[0]), (c, c_ref[0])):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    w = torch.randn(B, T, H, dtype=F64)
    g_ours = torch.autograd.grad((out * w).sum() + c.sum(), [X] + list(ours.params()))
    g_ref = torch.autograd.grad((out_ref * w).sum() + c_ref.sum(), [X] + params_of(ref))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_gradcheck_of_the_layer():
    torch.manual_seed(3)
    layer = LSTMLayer(2, 3)
    X = torch.randn(2, 4, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda X, *p: lstm_layer(X, *p)[0], (X, *layer.params()))


def test_round_trip_to_torch_and_state_dict():
    ours = LSTMLayer(D, H)
    ref = ours.to_torch()
    assert ref.batch_first and ref.weight_ih_l0.dtype == F64
    X = torch.randn(B, T, D, dtype=F64)
    assert max_abs_diff(ours(X)[0], ref(X)[0]) < 1e-10
    assert set(ours.state_dict()) == set(ref.state_dict())
    again = LSTMLayer(D, H)
    again.load_state_dict(ref.state_dict())
    assert max_abs_diff(again(X)[0], ref(X)[0]) < 1e-10


def test_return_gates_recomputes_the_cell():
    layer = LSTMLayer.from_torch(torch_lstm())
    X = torch.randn(B, T, D, dtype=F64)
    out, (h, c), gates = layer(X, return_gates=True)
    assert set(gates) == {"i", "f", "g", "o", "c"} and all(v.shape == (B, T, H) for v in gates.values())
    c_prev = torch.cat([torch.zeros(B, 1, H, dtype=F64), gates["c"][:, :-1]], dim=1)
    c_again = gates["f"] * c_prev + gates["i"] * gates["g"]
    assert max_abs_diff(c_again, gates["c"]) < 1e-12
    assert max_abs_diff(gates["o"] * torch.tanh(gates["c"]), out) < 1e-12


def test_step_jacobian_matches_autograd():
    layer = LSTMLayer.from_torch(torch_lstm(4))
    params = [p.detach() for p in layer.params()]
    x, h, c = torch.randn(D, dtype=F64), torch.randn(H, dtype=F64), torch.randn(H, dtype=F64)

    def step(s):
        h1, c1 = lstm_cell(x[None], s[None, :H], s[None, H:], *params)
        return torch.cat([h1[0], c1[0]])
    J_ref = torch.autograd.functional.jacobian(step, torch.cat([h, c]))
    J = lstm_step_jacobian(x, h, c, *params)
    torch.testing.assert_close(J, J_ref, rtol=0, atol=1e-10)
    i, f, g, o = lstm_gates(x[None], h[None], *params)
    torch.testing.assert_close(J[H:, H:], torch.diag(f[0]), rtol=0, atol=0)  # eq-lstm-cell-path


def test_state_jacobian_norms_match_autograd_through_the_sequence():
    layer = LSTMLayer.from_torch(torch_lstm(5))
    X = torch.randn(T, D, dtype=F64)
    norms = state_jacobian_norms(layer, X)
    assert norms["cell"].shape == norms["forget"].shape == (T,)
    assert norms["cell"][0] == 1 and norms["forget"][0] == 1
    with torch.no_grad():
        out, _, gates = layer(X[None], return_gates=True)
    params = [p.detach() for p in layer.params()]
    for k in (1, 3, T - 1):
        t = T - 1 - k  # perturb c after step t (0-based), read c after the last step
        def c_last(c_t):
            h, c = out[:, t], c_t[None]
            for s in range(t + 1, T):
                h, c = lstm_cell(X[s][None], h, c, *params)
            return c[0]
        J = torch.autograd.functional.jacobian(c_last, gates["c"][0, t])
        assert abs(norms["cell"][k] - torch.linalg.matrix_norm(J, 2).item()) < 1e-10
        assert abs(norms["forget"][k] - gates["f"][0, t + 1:].prod(dim=0).max().item()) < 1e-12


def test_bad_input_raises_one_clear_valueerror():
    W_ih, W_hh = torch.zeros(4 * H, D, dtype=F64), torch.zeros(4 * H, H, dtype=F64)
    b = torch.zeros(4 * H, dtype=F64)
    x, h, c = torch.zeros(B, D, dtype=F64), torch.zeros(B, H, dtype=F64), torch.zeros(B, H, dtype=F64)
    cases = [
        (lambda: lstm_cell(x, h, c, torch.zeros(4 * H + 1, D, dtype=F64), W_hh, b, b), "divisible by 4"),
        (lambda: lstm_cell(x, h, c, W_ih, torch.zeros(4 * H, H + 1, dtype=F64), b, b), "W_hh"),
        (lambda: lstm_cell(x, h, c, W_ih, W_hh, b[:-1], b), "b_ih"),
        (lambda: lstm_cell(x, h, c, W_ih, W_hh, b, b.float()), "one dtype"),
        (lambda: lstm_cell(torch.zeros(B, D + 1, dtype=F64), h, c, W_ih, W_hh, b, b), "D = 3"),
        (lambda: lstm_cell(x, h[:1], c, W_ih, W_hh, b, b), "h_prev"),
        (lambda: lstm_cell(x, h, c.float(), W_ih, W_hh, b, b), "c_prev"),
        (lambda: lstm_cell(x.numpy(), h, c, W_ih, W_hh, b, b), "torch tensor"),
        (lambda: lstm_layer(torch.zeros(B, 0, D, dtype=F64), W_ih, W_hh, b, b), "non-empty"),
        (lambda: lstm_layer(x, W_ih, W_hh, b, b), r"\(B, T, D\)"),
        (lambda: lstm_layer(torch.zeros(B, T, D), W_ih, W_hh, b, b), "dtype"),
        (lambda: LSTMLayer(0, H), "input_size"),
        (lambda: LSTMLayer(D, H, dtype=torch.int64), "floating"),
        (lambda: LSTMLayer.from_torch(torch.nn.GRU(D, H)), "torch.nn.LSTM"),
        (lambda: LSTMLayer.from_torch(torch.nn.LSTM(D, H, num_layers=2)), "num_layers=1"),
        (lambda: state_jacobian_norms(LSTMLayer(D, H), torch.zeros(T, D)), "dtype"),
        (lambda: lstm_step_jacobian(x, h[0], c[0], W_ih, W_hh, b, b), r"\(D,\)"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


def test_default_initialisation_is_torchs_range():
    torch.manual_seed(0)
    layer = LSTMLayer(D, 16)
    bound = 1 / np.sqrt(16)
    for p in layer.params():
        assert p.dtype == F64 and p.abs().max() <= bound


def test_cell_diagram_draws_every_part_and_rejects_a_non_axes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib import plots
    fig, ax = plt.subplots()
    plots.draw_lstm_cell(ax, title="t")
    # c_{t-1}, times f, plus, c_t; four parts; i*g, tanh, o*tanh; h_t, h_{t-1}, x_t
    assert len(ax.patches) == 14
    texts = " ".join(t.get_text() for t in ax.texts)
    for symbol in ("f}_t", "i}_t", "g}_t", "o}_t", "c}_{t-1}", "h}_{t-1}", "x}_t", "diag"):
        assert symbol in texts, symbol
    plt.close(fig)
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        plots.draw_lstm_cell("not an axes")
