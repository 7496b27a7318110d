"""seqlib._checks, seqlib.data and seqlib.gradients: behaviour and bad input."""
import numpy as np
import pytest
import torch

import seqlib
from seqlib import data
from seqlib._checks import check_ids, check_positive, check_tensor
from seqlib.gradients import grad_norms, max_abs_diff, numerical_grad, tanh_rnn_jacobian_norms


# --- _checks -----------------------------------------------------------------

def test_check_tensor_returns_named_sizes():
    assert check_tensor(np.zeros((2, 3, 4)), "X", "(B, T, D)", dtype="float") == {"B": 2, "T": 3, "D": 4}


@pytest.mark.parametrize("x, match", [
    (np.zeros((2, 3)), r"X must have shape \(B, T, D\) \(rank 3\); got shape \(2, 3\)"),
    (np.zeros((2, 0, 4)), "non-empty"),
    (np.zeros((2, 3, 4), dtype=np.int64), "floating-point"),
    (np.zeros((2, 3, 5)), "D = 4"),
    ([[1.0]], "must be an array"),
])
def test_check_tensor_rejects(x, match):
    with pytest.raises(ValueError, match=match):
        check_tensor(x, "X", "(B, T, D)", dtype="float", sizes={"D": 4})


@pytest.mark.parametrize("ids, match", [
    (np.array([0, 5]), r"\[0, 5\)"),
    (np.array([-1, 2]), r"\[0, 5\)"),
    (np.array([0.0, 1.0]), "integer"),
    (np.array([], dtype=np.int64), "non-empty"),
    (torch.tensor(3), "non-empty"),
])
def test_check_ids_rejects(ids, match):
    with pytest.raises(ValueError, match=match):
        check_ids(ids, "ids", 5)


@pytest.mark.parametrize("value, kw", [(0, {}), (-1.0, {}), (1.5, {"integer": True}), (True, {}), ("3", {})])
def test_check_positive_rejects(value, kw):
    with pytest.raises(ValueError):
        check_positive(value, "n", **kw)


def test_seed_everything_repeats_draws_and_rejects_bad_seed():
    seqlib.seed_everything(3)
    a = torch.randn(4), np.random.rand(4)
    seqlib.seed_everything(3)
    b = torch.randn(4), np.random.rand(4)
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="seed"):
        seqlib.seed_everything(-1)


# --- data ----------------------------------------------------------------------

def test_vocab_orders_by_frequency_and_round_trips():
    v = data.Vocab("b a b c b a".split())
    assert v.itos == ["<unk>", "b", "a", "c"]
    ids = v.encode(["a", "zzz", "c"])
    assert ids.tolist() == [2, 0, 3] and ids.dtype == np.int64
    assert v.decode(ids) == ["a", "<unk>", "c"]


def test_vocab_rejects_bad_input():
    v = data.Vocab(["a"])
    with pytest.raises(ValueError, match="non-empty"):
        data.Vocab([])
    with pytest.raises(ValueError, match="non-empty"):
        v.encode([])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        v.decode([2])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        data.Vocab(["a"], specials=()).encode(["b"])


def test_tokenizers():
    assert data.tokenize_words("Apple is a tech company.") == ["apple", "is", "a", "tech", "company", "."]
    lexicon = ["苹果", "一家", "科技", "公司", "科技公司"]
    assert data.max_match("苹果是一家科技公司。", lexicon) == ["苹果", "是", "一家", "科技公司", "。"]
    with pytest.raises(ValueError, match="non-empty"):
        data.max_match("", lexicon)
    with pytest.raises(ValueError, match="lexicon"):
        data.max_match("苹果", [])


def test_topic_corpus_is_deterministic_and_uses_every_topic_word():
    a, b = data.topic_corpus(500, seed=1), data.topic_corpus(500, seed=1)
    assert a == b and len(a) == 500
    words = {w for s in a for w in s}
    assert all(w in words for ws in data.TOPICS.values() for w in ws)
    with pytest.raises(ValueError, match="n_sentences"):
        data.topic_corpus(0)


def test_adding_problem_targets_are_the_marked_sums():
    X, y = data.adding_problem(64, 20, seed=0)
    assert X.shape == (64, 20, 2) and y.shape == (64,)
    assert np.all(X[..., 1].sum(axis=1) == 2)
    assert np.all(X[:, :10, 1].sum(axis=1) == 1)  # one marker in each half
    np.testing.assert_allclose((X[..., 0] * X[..., 1]).sum(axis=1), y, rtol=1e-6)
    with pytest.raises(ValueError, match="T must be >= 2"):
        data.adding_problem(4, 1)
    with pytest.raises(ValueError, match="n must be"):
        data.adding_problem(0, 5)


def test_parity_task():
    bits, parity = data.parity_task(8, 12, seed=0)
    assert np.array_equal(parity[:, -1], bits.sum(axis=1) % 2)
    with pytest.raises(ValueError):
        data.parity_task(8, 0)


# --- gradients -------------------------------------------------------------------

def test_numerical_grad_matches_an_analytic_gradient():
    rng = np.random.default_rng(0)
    x, A = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    g = numerical_grad(lambda: float(np.sum(np.sin(x) * A)), x)
    assert max_abs_diff(g, np.cos(x) * A) < 1e-8
    with pytest.raises(ValueError, match="float64"):
        numerical_grad(lambda: 0.0, x.astype(np.float32))


def test_jacobian_norms_match_autograd():
    torch.manual_seed(0)
    H, T = 3, 5
    W = torch.randn(H, H, dtype=torch.float64) * 0.8
    x = torch.randn(T, H, dtype=torch.float64)
    h0 = torch.zeros(H, dtype=torch.float64)
    hs, h = [], h0
    for t in range(T):
        h = torch.tanh(W @ h + x[t])
        hs.append(h)
    norms = tanh_rnn_jacobian_norms(torch.stack(hs).numpy(), W.numpy())

    def h_T_from(t, h_t):  # rerun the recurrence from step t+1 on
        for s in range(t + 1, T):
            h_t = torch.tanh(W @ h_t + x[s])
        return h_t
    for k in range(T):
        J = torch.autograd.functional.jacobian(lambda v: h_T_from(T - 1 - k, v), hs[T - 1 - k])
        assert abs(norms[k] - torch.linalg.matrix_norm(J, 2).item()) < 1e-12
    with pytest.raises(ValueError, match="W_hh"):
        tanh_rnn_jacobian_norms(np.zeros((4, 3)) + 0.1, np.eye(2))


def test_grad_norms_and_max_abs_diff_reject_bad_input():
    p = torch.ones(3, requires_grad=True)
    (2 * p).sum().backward()
    assert grad_norms([p]) == pytest.approx([2 * 3 ** 0.5])
    with pytest.raises(ValueError, match="no gradient"):
        grad_norms([torch.ones(2, requires_grad=True)])
    with pytest.raises(ValueError, match="at least one"):
        grad_norms([])
    with pytest.raises(ValueError, match="same shape"):
        max_abs_diff(np.zeros(2), np.zeros(3))
