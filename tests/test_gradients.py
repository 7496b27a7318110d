"""seqlib.gradients.tanh_rnn_grad_terms: the per-step terms of dL/dW_hh (eq-vanish-bptt-sum)."""
import numpy as np
import pytest
import torch

from seqlib.gradients import max_abs_diff, tanh_rnn_grad_terms, tanh_rnn_jacobian_norms


def _rnn_and_loss(B=3, T=7, D=2, H=5, seed=0, h0=False):
    """A float64 torch.nn.RNN, a batch, and a loss that reads h_T only."""
    g = torch.Generator().manual_seed(seed)
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in rnn.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.7)
    X = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    start = torch.randn(1, B, H, generator=g, dtype=torch.float64) * 0.5 if h0 else None
    w = torch.randn(H, generator=g, dtype=torch.float64)
    out, _ = rnn(X, start)
    hT = out[:, -1]
    loss = ((hT @ w - 1.0) ** 2).sum()
    delta_T, = torch.autograd.grad(loss, hT, retain_graph=True)
    loss.backward()
    return rnn, out.detach(), delta_T, start


@pytest.mark.parametrize("h0", [False, True])
def test_terms_sum_to_the_autograd_gradient_of_W_hh(h0):
    rnn, out, delta_T, start = _rnn_and_loss(h0=h0)
    terms = tanh_rnn_grad_terms(out, rnn.weight_hh_l0.detach(), delta_T,
                                h0=None if start is None else start[0])
    assert terms.shape == (7, 5, 5) and terms.dtype == np.float64
    assert max_abs_diff(terms.sum(axis=0), rnn.weight_hh_l0.grad) < 1e-12


def test_each_term_is_the_gradient_of_one_steps_copy_of_W_hh():
    # Unroll by hand with a separate copy of W_hh per step: autograd's gradient
    # for the copy used at step t is exactly the term of step t.
    g = torch.Generator().manual_seed(1)
    B, T, H = 2, 5, 4
    W = torch.randn(H, H, generator=g, dtype=torch.float64) * 0.8
    U = torch.randn(H, 2, generator=g, dtype=torch.float64)
    X = torch.randn(B, T, 2, generator=g, dtype=torch.float64)
    copies = [W.clone().requires_grad_(True) for _ in range(T)]
    h, hs = torch.zeros(B, H, dtype=torch.float64), []
    for t in range(T):
        h = torch.tanh(h @ copies[t].T + X[:, t] @ U.T)
        hs.append(h)
    hT = hs[-1]
    loss = (hT.sum(dim=1) ** 2).sum()
    delta_T, = torch.autograd.grad(loss, hT, retain_graph=True)
    loss.backward()
    terms = tanh_rnn_grad_terms(torch.stack(hs, dim=1).detach(), W, delta_T)
    for k in range(T):  # entry k is the term of step T - k
        assert max_abs_diff(terms[k], copies[T - 1 - k].grad) < 1e-12
    assert np.all(terms[-1] == 0)  # h_0 = 0: the first step's term vanishes


def test_one_sequence_terms_match_the_jacobian_product():
    # With B = 1 and delta_T = a unit vector, term k is
    # diag(1 - h_{T-k}^2) (dh_T/dh_{T-k})^T e h_{T-k-1}^T, whose norm is bounded by
    # the Jacobian norm of tanh_rnn_jacobian_norms times ||h_{T-k-1}||.
    rnn, out, delta_T, _ = _rnn_and_loss(B=1)
    W = rnn.weight_hh_l0.detach().numpy()
    e = delta_T / delta_T.norm()
    terms = tanh_rnn_grad_terms(out, W, e)
    norms = tanh_rnn_jacobian_norms(out[0].numpy(), W)
    h = out[0].numpy()
    for k in range(1, 6):
        assert np.linalg.norm(terms[k], 2) <= norms[k] * np.linalg.norm(h[-k - 2]) + 1e-12


@pytest.mark.parametrize("args, match", [
    ((np.zeros((5, 3)), np.eye(3), np.zeros((1, 3))), r"h must have shape \(B, T, H\)"),
    ((np.zeros((1, 5, 3)), np.eye(2), np.zeros((1, 3))), "W_hh must have"),
    ((np.zeros((1, 5, 3)), np.eye(3), np.zeros((2, 3))), "delta_T must have B = 1"),
    ((np.zeros((1, 5, 3)), np.eye(3), np.zeros((1, 4))), "delta_T must have H = 3"),
    ((np.zeros((1, 5, 3), dtype=int), np.eye(3), np.zeros((1, 3))), "floating-point"),
    (("h", np.eye(3), np.zeros((1, 3))), "h must be an array"),
])
def test_bad_input_raises_one_clear_valueerror(args, match):
    with pytest.raises(ValueError, match=match):
        tanh_rnn_grad_terms(*args)


def test_bad_h0_raises():
    with pytest.raises(ValueError, match="h0 must have"):
        tanh_rnn_grad_terms(np.zeros((2, 5, 3)), np.eye(3), np.zeros((2, 3)), h0=np.zeros((3, 3)))
