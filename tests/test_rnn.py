"""seqlib.rnn: the NumPy RNN and its hand-written BPTT against torch, and bad input."""
import numpy as np
import pytest
import torch

from seqlib import data
from seqlib.gradients import max_abs_diff, numerical_grad
from seqlib.rnn import (PARAM_NAMES, ScratchRNN, cross_entropy, init_rnn_params,
                        params_from_torch, rnn_backward, rnn_forward, torch_rnn_from)

B, T, D, H, O = 3, 7, 4, 5, 6


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    p = init_rnn_params(D, H, O, seed=1)
    X = rng.normal(size=(B, T, D))
    h0 = rng.normal(size=(B, H)) * 0.5
    targets = rng.integers(0, O, size=(B, T))
    return p, X, h0, targets


def torch_loss_and_grads(p, X, h0, targets, k=None):
    """The same model in torch autograd (float64), chunked with detach when k is given."""
    P = {n: torch.tensor(v, requires_grad=True) for n, v in p.items()}
    Xt = torch.tensor(X, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    h, logits = h0t, []
    for t in range(T):
        if k is not None and t > 0 and t % k == 0:
            h = h.detach()
        h = torch.tanh(Xt[:, t] @ P["W_xh"].T + h @ P["W_hh"].T + P["b_h"])
        logits.append(h @ P["W_hy"].T + P["b_y"])
    Y = torch.stack(logits, dim=1)
    loss = torch.nn.functional.cross_entropy(Y.reshape(-1, O), torch.tensor(targets).reshape(-1))
    loss.backward()
    grads = {n: P[n].grad.numpy() for n in PARAM_NAMES}
    grads["X"], grads["h0"] = Xt.grad.numpy(), h0t.grad.numpy()
    return loss.item(), Y.detach().numpy(), grads


def test_init_rnn_params_shapes_range_and_determinism():
    p = init_rnn_params(D, H, O, seed=3)
    assert {n: v.shape for n, v in p.items()} == {
        "W_xh": (H, D), "W_hh": (H, H), "b_h": (H,), "W_hy": (O, H), "b_y": (O,)}
    assert all(np.abs(v).max() <= 1 / np.sqrt(H) for v in p.values())
    q = init_rnn_params(D, H, O, seed=3)
    assert all(np.array_equal(p[n], q[n]) for n in p)
    assert init_rnn_params(D, H, O, dtype=np.float32)["W_hh"].dtype == np.float32


def test_forward_matches_torch_nn_rnn(problem):
    p, X, h0, _ = problem
    Y, Hs, _ = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    rnn = torch_rnn_from(p["W_xh"], p["W_hh"], p["b_h"])
    out, h_n = rnn(torch.tensor(X), torch.tensor(h0)[None])
    assert max_abs_diff(Hs, out) < 1e-12
    assert max_abs_diff(Hs[:, -1], h_n[0]) < 1e-12
    assert max_abs_diff(Y, Hs @ p["W_hy"].T + p["b_y"]) == 0.0
    assert Y.shape == (B, T, O) and Hs.shape == (B, T, H)


def test_forward_with_zero_initial_state(problem):
    p, X, _, _ = problem
    Y0, _, _ = rnn_forward(X, None, *(p[n] for n in PARAM_NAMES))
    Y1, _, _ = rnn_forward(X, np.zeros((B, H)), *(p[n] for n in PARAM_NAMES))
    assert np.array_equal(Y0, Y1)


def test_cross_entropy_and_gradient_match_torch(problem):
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(B, T, O)) * 3
    targets = problem[3]
    loss, dY = cross_entropy(Y, targets)
    Yt = torch.tensor(Y, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(Yt.reshape(-1, O), torch.tensor(targets).reshape(-1))
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12
    assert max_abs_diff(dY, Yt.grad) < 1e-12
    # huge logits do not overflow thanks to the shift by the maximum
    big_loss, _ = cross_entropy(Y * 1e4, targets)
    assert np.isfinite(big_loss)


def test_backward_matches_autograd_for_every_argument(problem):
    p, X, h0, targets = problem
    Y, _, cache = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    loss, dY = cross_entropy(Y, targets)
    grads = rnn_backward(dY, cache)
    ref_loss, ref_Y, ref = torch_loss_and_grads(p, X, h0, targets)
    assert abs(loss - ref_loss) < 1e-12 and max_abs_diff(Y, ref_Y) < 1e-12
    assert set(grads) == set(PARAM_NAMES) | {"X", "h0"}
    for name in grads:
        assert grads[name].shape == ref[name].shape
        assert max_abs_diff(grads[name], ref[name]) < 1e-12, name


def test_backward_matches_finite_differences(problem):
    p, X, h0, targets = problem
    p = {n: v.copy() for n, v in p.items()}
    X, h0 = X.copy(), h0.copy()

    def loss():
        Y, _, _ = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
        return cross_entropy(Y, targets)[0]
    Y, _, cache = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    grads = rnn_backward(cross_entropy(Y, targets)[1], cache)
    for name, arr in [*p.items(), ("X", X), ("h0", h0)]:
        assert max_abs_diff(grads[name], numerical_grad(loss, arr)) < 1e-8, name


def test_weight_gradient_is_the_sum_over_steps(problem):
    """dL/dW_hh equals the sum of the per-step terms da_t^T h_{t-1} (not their mean)."""
    p, X, h0, targets = problem
    Y, Hs, cache = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    grads = rnn_backward(cross_entropy(Y, targets)[1], cache)
    # Per-step contributions from autograd: give every step its own copy of W_hh.
    W_steps = torch.tensor(np.repeat(p["W_hh"][None], T, axis=0), requires_grad=True)
    h = torch.tensor(h0)
    logits = []
    for t in range(T):
        h = torch.tanh(torch.tensor(X[:, t] @ p["W_xh"].T + p["b_h"]) + h @ W_steps[t].T)
        logits.append(h @ torch.tensor(p["W_hy"]).T + torch.tensor(p["b_y"]))
    loss = torch.nn.functional.cross_entropy(torch.stack(logits, 1).reshape(-1, O),
                                             torch.tensor(targets).reshape(-1))
    loss.backward()
    assert max_abs_diff(W_steps.grad.sum(0), grads["W_hh"]) < 1e-12
    assert max_abs_diff(W_steps.grad.mean(0), grads["W_hh"]) > 1e-4


@pytest.mark.parametrize("k", [1, 2, 3, 7, 100])
def test_truncated_backward_equals_detached_chunks(problem, k):
    p, X, h0, targets = problem
    Y, _, cache = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    grads = rnn_backward(cross_entropy(Y, targets)[1], cache, k=k)
    _, _, ref = torch_loss_and_grads(p, X, h0, targets, k=k)
    for name in grads:
        assert max_abs_diff(grads[name], ref[name]) < 1e-12, (k, name)


def test_truncation_changes_the_gradient_only_when_it_cuts(problem):
    p, X, h0, targets = problem
    Y, _, cache = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    dY = cross_entropy(Y, targets)[1]
    full = rnn_backward(dY, cache)
    assert max_abs_diff(rnn_backward(dY, cache, k=T)["W_hh"], full["W_hh"]) == 0.0
    assert max_abs_diff(rnn_backward(dY, cache, k=2)["W_hh"], full["W_hh"]) > 1e-6
    # the output layer never sees the recurrence, so truncation leaves it alone
    assert max_abs_diff(rnn_backward(dY, cache, k=1)["W_hy"], full["W_hy"]) == 0.0


def test_scratch_rnn_matches_torch_forward_and_gradients():
    torch.manual_seed(0)
    ours = ScratchRNN(D, H, dtype=torch.float64)
    theirs = torch_rnn_from(ours.W_xh, ours.W_hh, ours.b_h)
    X = torch.randn(B, T, D, dtype=torch.float64)
    h0 = torch.randn(B, H, dtype=torch.float64)
    Hs, h_T = ours(X, h0)
    out, h_n = theirs(X, h0[None])
    torch.testing.assert_close(Hs, out, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_T, h_n[0], rtol=0, atol=1e-12)
    G = torch.randn(B, T, H, dtype=torch.float64)
    (Hs * G).sum().backward()
    (out * G).sum().backward()
    torch.testing.assert_close(ours.W_xh.grad, theirs.weight_ih_l0.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(ours.W_hh.grad, theirs.weight_hh_l0.grad, rtol=0, atol=1e-12)
    # torch's two biases always receive the same gradient, equal to ours
    torch.testing.assert_close(ours.b_h.grad, theirs.bias_ih_l0.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(ours.b_h.grad, theirs.bias_hh_l0.grad, rtol=0, atol=1e-12)


def test_scratch_rnn_passes_gradcheck():
    torch.manual_seed(0)
    rnn = ScratchRNN(2, 3, dtype=torch.float64)
    X = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: rnn(x)[0], (X,))


def test_params_round_trip_and_two_biases_add():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    p = params_from_torch(rnn)
    assert max_abs_diff(p["b_h"], rnn.bias_ih_l0 + rnn.bias_hh_l0) == 0.0
    back = torch_rnn_from(p["W_xh"], p["W_hh"], p["b_h"])
    X = torch.randn(B, T, D, dtype=torch.float64)
    assert max_abs_diff(rnn(X)[0], back(X)[0]) < 1e-12
    assert torch_rnn_from(p["W_xh"], p["W_hh"], p["b_h"], dtype=torch.float32).weight_hh_l0.dtype == torch.float32


def test_causal_windows_numpy_and_torch_agree_and_pad_with_zeros():
    x = np.arange(1, 6)[None]  # (1, 5)
    w = data.causal_windows(x, 3)
    assert w.shape == (1, 5, 3)
    assert w[0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    wt = data.causal_windows(torch.tensor(x), 3)
    assert isinstance(wt, torch.Tensor) and wt.tolist() == w.tolist()
    assert np.array_equal(data.causal_windows(x, 1)[..., 0], x)
    with pytest.raises(ValueError, match="w must be"):
        data.causal_windows(x, 0)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        data.causal_windows(np.arange(4), 2)


# --- bad input ---------------------------------------------------------------------

def _args(p, X, h0):
    return [X, h0] + [p[n] for n in PARAM_NAMES]


@pytest.mark.parametrize("index, bad, match", [
    (0, np.zeros((B, T)), r"X must have shape \(B, T, D\)"),
    (0, np.zeros((B, 0, D)), "non-empty"),
    (0, np.zeros((B, T, D), dtype=np.int64), "floating-point"),
    (0, torch.zeros(B, T, D, dtype=torch.float64), "NumPy array"),
    (1, np.zeros((B + 1, H)), "B = 3"),
    (2, np.zeros((H, D + 1)), "D = 4"),
    (3, np.zeros((H, H + 1)), "H2 = 5"),
    (4, np.zeros(H + 1), "H = 5"),
    (5, np.zeros((O, H + 1)), "H = 5"),
    (6, np.zeros(O + 1), "O = 6"),
    (3, np.zeros((H, H), dtype=np.float32), "share one float dtype"),
])
def test_rnn_forward_rejects(problem, index, bad, match):
    p, X, h0, _ = problem
    args = _args(p, X, h0)
    args[index] = bad
    with pytest.raises(ValueError, match=match):
        rnn_forward(*args)


def test_rnn_backward_rejects(problem):
    p, X, h0, _ = problem
    Y, _, cache = rnn_forward(X, h0, *(p[n] for n in PARAM_NAMES))
    with pytest.raises(ValueError, match="cache"):
        rnn_backward(Y, {"X": X})
    with pytest.raises(ValueError, match="T = 7"):
        rnn_backward(Y[:, :3], cache)
    with pytest.raises(ValueError, match="dtype"):
        rnn_backward(Y.astype(np.float32), cache)
    with pytest.raises(ValueError, match="NumPy"):
        rnn_backward(torch.tensor(Y), cache)
    for k in (0, -2, 1.5):
        with pytest.raises(ValueError, match="k must be"):
            rnn_backward(Y, cache, k=k)


def test_cross_entropy_rejects():
    Y = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        cross_entropy(Y, np.full((2, 3), 4))
    with pytest.raises(ValueError, match="integer"):
        cross_entropy(Y, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="T = 3"):
        cross_entropy(Y, np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(B, T, O\)"):
        cross_entropy(np.zeros((2, 3)), np.zeros((2, 3), dtype=np.int64))


def test_init_and_modules_reject_bad_hyper_parameters():
    with pytest.raises(ValueError, match="H must be"):
        init_rnn_params(2, 0, 2)
    with pytest.raises(ValueError, match="seed"):
        init_rnn_params(2, 2, 2, seed=-1)
    with pytest.raises(ValueError, match="floating dtype"):
        init_rnn_params(2, 2, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="floating dtype"):
        ScratchRNN(2, 2, dtype=torch.int64)
    rnn = ScratchRNN(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="D = 2"):
        rnn(torch.zeros(1, 4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="dtype"):
        rnn(torch.zeros(1, 4, 2))
    with pytest.raises(ValueError, match="B = 1"):
        rnn(torch.zeros(1, 4, 2, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="single-layer"):
        params_from_torch(torch.nn.RNN(2, 3, num_layers=2))
    with pytest.raises(ValueError, match="torch.nn.RNN"):
        params_from_torch(torch.nn.GRU(2, 3))
    with pytest.raises(ValueError, match="H2 = 3"):
        torch_rnn_from(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(3))


def test_diagrams_draw_and_reject_bad_arguments():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib import plots
    fig, ax = plt.subplots()
    plots.draw_unrolled_rnn(ax, T=4, backward=True, truncate=2, title="t")
    assert len(ax.patches) == 1 + 4 * 3  # h0, then x_t, h_t, y_t per step
    with pytest.raises(ValueError, match="at most 8"):
        plots.draw_unrolled_rnn(ax, T=9)
    with pytest.raises(ValueError, match="truncate"):
        plots.draw_unrolled_rnn(ax, T=3, truncate=0)
    plt.close(fig)
    fig, axes = plots.draw_io_patterns(["a", "b", "c", "d", "e"])
    assert len(axes) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match="5 strings"):
        plots.draw_io_patterns(["a"])
