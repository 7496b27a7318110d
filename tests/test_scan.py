"""minGRU: the parallel log-space scan equals the step-by-step loop (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional  # noqa: F401

from seqlib import longlag
from seqlib.scan import MinGRU, MinGRUModel, g, linear_recurrence_loop, log_g, log_space_scan

F64 = torch.float64


@pytest.mark.parametrize("T", [1, 2, 3, 7, 8, 33])
def test_scan_equals_loop(T):
    torch.manual_seed(T)
    a = torch.rand(2, T, 5, dtype=F64) * 0.98 + 0.01
    b = torch.rand(2, T, 5, dtype=F64) + 0.01
    h0 = torch.rand(2, 5, dtype=F64) + 0.1
    for start in (None, h0):
        loop = linear_recurrence_loop(a, b, start)
        scan = torch.exp(log_space_scan(a.log(), b.log(), None if start is None else start.log()))
        torch.testing.assert_close(scan, loop, rtol=1e-10, atol=1e-12)


def test_scan_equals_the_closed_form_with_cumulative_sums():
    # h_t = A_t (h_0 + sum_{k<=t} b_k / A_k), A_t = prod_{k<=t} a_k, in logs
    # (Heinsen 2023; the form minGRU's paper uses): a second, independent check.
    torch.manual_seed(0)
    a = torch.rand(1, 20, 3, dtype=F64) * 0.9 + 0.05
    b = torch.rand(1, 20, 3, dtype=F64) + 0.05
    a_star = torch.cumsum(a.log(), dim=1)
    closed = a_star + torch.logcumsumexp(b.log() - a_star, dim=1)
    torch.testing.assert_close(log_space_scan(a.log(), b.log()), closed, rtol=1e-10, atol=1e-10)


def test_g_is_positive_continuous_and_log_g_matches():
    u = torch.linspace(-30, 30, 601, dtype=F64)
    assert bool((g(u) > 0).all())
    torch.testing.assert_close(g(torch.tensor([0.0], dtype=F64)), torch.tensor([0.5], dtype=F64))
    # log(sigmoid(u)) loses digits for very negative u; logsigmoid does not
    reference = torch.where(u >= 0, torch.log(g(u)), torch.nn.functional.logsigmoid(u))
    torch.testing.assert_close(log_g(u), reference, rtol=1e-12, atol=1e-12)


def test_mingru_scan_equals_loop_values_and_gradients():
    torch.manual_seed(0)
    layer = MinGRU(3, 4, dtype=F64)
    x = torch.randn(2, 16, 3, dtype=F64, requires_grad=True)
    h0 = torch.rand(2, 4, dtype=F64) + 0.1
    for start in (None, h0):
        loop, scan = layer(x, start, mode="loop"), layer(x, start, mode="scan")
        torch.testing.assert_close(scan, loop, rtol=1e-10, atol=1e-12)
        g_loop = torch.autograd.grad(loop.sum(), [x, *layer.parameters()])
        g_scan = torch.autograd.grad(scan.sum(), [x, *layer.parameters()])
        for gl, gs in zip(g_loop, g_scan):
            torch.testing.assert_close(gs, gl, rtol=1e-9, atol=1e-10)


def test_scan_does_not_underflow_where_a_product_would():
    # 2,000 steps that each keep 1% of the state: the product of the a_t is 1e-4000,
    # below float64's range, but the log-space scan still gives the right states.
    T = 2000
    a = torch.full((1, T, 1), 0.01, dtype=F64)
    b = torch.full((1, T, 1), 1.0, dtype=F64)
    h = torch.exp(log_space_scan(a.log(), b.log()))
    torch.testing.assert_close(h[0, -1, 0], torch.tensor(1 / 0.99, dtype=F64), rtol=1e-12, atol=0)


def test_bad_input():
    layer = MinGRU(3, 4)
    with pytest.raises(ValueError, match="D = 3"):
        layer(torch.randn(2, 5, 2))
    with pytest.raises(ValueError, match="mode"):
        layer(torch.randn(2, 5, 3), mode="parallel")
    with pytest.raises(ValueError, match="h0"):
        layer(torch.randn(2, 5, 3), h0=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="b"):
        linear_recurrence_loop(torch.rand(1, 4, 2), torch.rand(1, 3, 2))
    with pytest.raises(ValueError, match="H"):
        MinGRU(3, 0)


def test_mingru_model_reads_out_the_last_state_in_both_modes():
    model = MinGRUModel(hidden_size=4, input_size=3, seed=5, dtype=F64)
    X = torch.randn(2, 9, 3, dtype=F64)
    h = model.recurrent(X, mode="loop")
    expected = (h[:, -1] @ model.readout.weight.T + model.readout.bias).squeeze(-1)
    y_scan = model(X)
    model.mode = "loop"
    assert y_scan.shape == (2,)
    torch.testing.assert_close(y_scan, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(model(X), expected, rtol=0, atol=0)
    # the seed fixes the weights and leaves the global random state alone
    state = torch.get_rng_state()
    again = MinGRUModel(hidden_size=4, input_size=3, seed=5, dtype=F64)
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)
    assert MinGRUModel(output_size=3)(torch.randn(2, 5, 2)).shape == (2, 3)


def test_longlag_trains_a_mingru_model():
    model = MinGRUModel(hidden_size=8, mode="loop", seed=0)
    run = longlag.train(model, lag=6, steps=3, batch_size=4, eval_every=3, n_test=16)
    assert run.cell == "mingru" and list(run.steps) == [0, 3]
    assert np.isfinite(run.final_error)


def test_mingru_model_bad_input():
    with pytest.raises(ValueError, match="mode"):
        MinGRUModel(mode="parallel")
    with pytest.raises(ValueError, match="hidden_size"):
        MinGRUModel(hidden_size=0)
    with pytest.raises(ValueError, match="seed"):
        MinGRUModel(seed=-1)
    with pytest.raises(ValueError, match="dtype"):
        MinGRUModel(dtype=torch.float16)
    with pytest.raises(ValueError, match="D = 2"):
        MinGRUModel()(torch.randn(2, 5, 3))
