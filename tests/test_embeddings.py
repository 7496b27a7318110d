"""seqlib.embeddings: equality with torch, hand-written backward, bad input, training."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlib import data, embeddings as emb
from seqlib.gradients import max_abs_diff, numerical_grad

TOL = dict(rtol=0, atol=1e-10)


def _randn(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# --- three routes from ids to vectors ----------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_three_routes_equal_nn_embedding(shape):
    V, D = 11, 6
    E = _randn(V, D)
    ids = torch.randint(0, V, shape, generator=torch.Generator().manual_seed(1))
    layer = torch.nn.Embedding(V, D, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(E)
    want = layer(ids)
    for got in (emb.embed_onehot(ids, E), emb.embed_lookup(ids, E), emb.embed_lookup(ids.numpy(), E)):
        assert got.shape == shape + (D,)
        torch.testing.assert_close(got, want, **TOL)


def test_one_hot_matches_torch_and_has_one_one_per_row():
    ids = torch.tensor([[0, 4, 4], [2, 1, 3]])
    O = emb.one_hot(ids, 5)
    assert O.shape == (2, 3, 5) and O.dtype == torch.float64
    assert torch.equal(O, F.one_hot(ids, 5).double())
    assert torch.equal(O.sum(-1), torch.ones(2, 3, dtype=torch.float64))
    assert emb.one_hot(ids, 5, dtype=torch.float32).dtype == torch.float32


# --- the lookup's backward -------------------------------------------------------------

def test_lookup_backward_equals_autograd_with_repeated_ids():
    V, D = 9, 4
    ids = torch.tensor([[1, 3, 1, 1], [3, 0, 8, 1]])          # 1 four times, 3 twice
    G = _randn(2, 4, D, seed=2)
    E = _randn(V, D).requires_grad_()
    (E[ids] * G).sum().backward()
    ours = emb.lookup_backward(ids, G, V)
    torch.testing.assert_close(ours, E.grad, **TOL)
    untouched = [v for v in range(V) if v not in ids.unique().tolist()]
    assert torch.all(ours[untouched] == 0)
    torch.testing.assert_close(ours[1], G[0, 0] + G[0, 2] + G[0, 3] + G[1, 3], **TOL)


class _Lookup(torch.autograd.Function):
    """embed_lookup forward with the hand-written lookup_backward."""

    @staticmethod
    def forward(ctx, E, ids):
        ctx.save_for_backward(ids)
        ctx.V = E.shape[0]
        return emb.embed_lookup(ids, E)

    @staticmethod
    def backward(ctx, grad_out):
        (ids,) = ctx.saved_tensors
        return emb.lookup_backward(ids, grad_out, ctx.V), None


def test_lookup_backward_passes_gradcheck():
    E = _randn(6, 3).requires_grad_()
    ids = torch.tensor([[0, 5, 5], [2, 0, 5]])
    assert torch.autograd.gradcheck(lambda E_: _Lookup.apply(E_, ids), (E,), eps=1e-6, atol=1e-8)


def test_lookup_backward_matches_finite_differences():
    E = np.random.default_rng(0).normal(size=(5, 2))
    ids = np.array([4, 1, 4])
    W = np.random.default_rng(1).normal(size=(3, 2))
    num = numerical_grad(lambda: float(np.sum(np.tanh(E[ids]) * W)), E)
    G = (1 - np.tanh(E[ids]) ** 2) * W                       # dL/dX for L = sum(tanh(X) * W)
    assert max_abs_diff(emb.lookup_backward(ids, G, 5), num) < 1e-8


# --- cosine, neighbours, PCA ------------------------------------------------------

def test_cosine_similarity_matches_torch():
    A, B = _randn(5, 4, seed=3), _randn(7, 4, seed=4)
    want = F.cosine_similarity(A[:, None, :], B[None, :, :], dim=-1)
    torch.testing.assert_close(emb.cosine_similarity(A, B), want, **TOL)
    S = emb.cosine_similarity(A)
    torch.testing.assert_close(torch.diagonal(S), torch.ones(5, dtype=torch.float64), **TOL)
    torch.testing.assert_close(S, S.T, **TOL)


def test_nearest_neighbours_known_answer_and_ties():
    E = torch.tensor([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    ids, sims = emb.nearest_neighbours(E, torch.tensor([0, 2]), k=3)
    assert ids[0].tolist() == [3, 1, 2]                       # 3 is identical, 1 nearly so
    assert ids[1].tolist()[0] == 1 and sims.shape == (2, 3)
    ids, _ = emb.nearest_neighbours(E, torch.tensor([0]), k=2, exclude_self=False)
    assert ids[0].tolist() == [0, 3]                          # a tie is broken by the smaller id
    assert torch.all(sims[:, :-1] >= sims[:, 1:])


def test_same_group_fraction_perfect_and_chance():
    E = torch.tensor([[1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [0.0, 1.0], [0.1, 1.0], [-0.1, 1.0]],
                     dtype=torch.float64)
    groups = {"x": np.array([0, 1, 2]), "y": np.array([3, 4, 5])}
    assert emb.same_group_fraction(E, groups, k=2) == {"x": 1.0, "y": 1.0}
    assert emb.same_group_fraction(E, groups, k=5) == {"x": 0.4, "y": 0.4}


def test_pca_2d_matches_numpy_svd_up_to_sign_and_is_rotation_invariant():
    X = _randn(20, 5, seed=5) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.1], dtype=torch.float64)
    Z, ratio = emb.pca_2d(X)
    Xc = X.numpy() - X.numpy().mean(0)
    _, S, Wt = np.linalg.svd(Xc, full_matrices=False)
    ref = Xc @ Wt[:2].T
    assert max_abs_diff(np.abs(Z.numpy()), np.abs(ref)) < 1e-10
    assert max_abs_diff(ratio.numpy(), S[:2] ** 2 / np.sum(S ** 2)) < 1e-12
    R, _ = torch.linalg.qr(_randn(5, 5, seed=6))
    Z_rot, _ = emb.pca_2d(X @ R)                               # same cloud, rotated
    assert max_abs_diff(Z_rot.abs(), Z.abs()) < 1e-10


def test_pca_2d_of_points_on_a_line_keeps_all_variance():
    t = torch.linspace(-1, 1, 9, dtype=torch.float64)[:, None]
    _, ratio = emb.pca_2d(t * torch.tensor([[1.0, 2.0, -2.0]], dtype=torch.float64))
    assert abs(float(ratio[0]) - 1.0) < 1e-12 and float(ratio[1]) < 1e-12


# --- skip-gram ---------------------------------------------------------------------

def test_skipgram_pairs_equal_a_double_loop_and_stay_in_sentences():
    rng = np.random.default_rng(0)
    sentences = [rng.integers(0, 20, size=n) for n in (1, 2, 5, 8)]
    for m in (1, 2, 3):
        want = []
        for s in sentences:
            for t in range(len(s)):
                for j in range(-m, m + 1):
                    if j and 0 <= t + j < len(s):
                        want.append((int(s[t]), int(s[t + j])))
        c, o = emb.skipgram_pairs(sentences, m)
        assert c.dtype == torch.int64 and sorted(zip(c.tolist(), o.tolist())) == sorted(want)
    c, _ = emb.skipgram_pairs([np.array([0, 1]), np.array([2, 3])], 5)
    assert len(c) == 4                                        # no pair crosses the boundary


def test_noise_distribution():
    counts = np.array([0, 1, 16, 81])
    P = emb.noise_distribution(counts)
    assert abs(float(P.sum()) - 1) < 1e-12 and float(P[0]) == 0.0
    torch.testing.assert_close(P, torch.tensor([0, 1, 8, 27], dtype=torch.float64) / 36, **TOL)
    torch.testing.assert_close(emb.noise_distribution(counts, power=1.0),
                               torch.tensor(counts / counts.sum()), **TOL)
    torch.testing.assert_close(emb.noise_distribution(counts, power=0.0),
                               torch.tensor([0, 1, 1, 1], dtype=torch.float64) / 3, **TOL)


def test_skipgram_loss_equals_binary_cross_entropy_and_starts_at_k_plus_1_log_2():
    g = torch.Generator().manual_seed(0)
    model = emb.SkipGram(10, 4, generator=g)
    assert torch.all(model.context.weight == 0) and model.centre.weight.abs().max() <= 0.5 / 4
    c, o, n = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6]), torch.tensor([[7, 8], [9, 0], [1, 1]])
    assert abs(model(c, o, n).item() - 3 * math.log(2)) < 1e-12
    with torch.no_grad():
        model.context.weight.normal_(generator=g)
        model.centre.weight.normal_(generator=g)
    v, u = model.centre.weight, model.context.weight
    scores = torch.cat([(u[o] * v[c]).sum(-1, keepdim=True), torch.einsum("bkd,bd->bk", u[n], v[c])], 1)
    labels = torch.cat([torch.ones(3, 1), torch.zeros(3, 2)], 1).double()
    want = F.binary_cross_entropy_with_logits(scores, labels, reduction="sum") / 3
    torch.testing.assert_close(model(c, o, n), want, **TOL)


def _topic_setup(n_sentences):
    corpus = data.topic_corpus(n_sentences, seed=0)
    vocab = data.Vocab([w for s in corpus for w in s])
    return vocab, [vocab.encode(s) for s in corpus]


def test_train_skipgram_is_deterministic_and_ignores_global_seeds():
    vocab, ids = _topic_setup(200)
    torch.manual_seed(1)
    m1, l1 = emb.train_skipgram(ids, vocab.counts, D=8, epochs=2, batch_size=256, seed=3)
    torch.manual_seed(2)
    m2, l2 = emb.train_skipgram(ids, vocab.counts, D=8, epochs=2, batch_size=256, seed=3)
    assert np.array_equal(l1, l2)
    assert torch.equal(m1.centre.weight, m2.centre.weight)
    assert torch.equal(m1.context.weight, m2.context.weight)
    m3, _ = emb.train_skipgram(ids, vocab.counts, D=8, epochs=2, batch_size=256, seed=4)
    assert not torch.equal(m1.centre.weight, m3.centre.weight)


def test_trained_embedding_groups_topic_words():
    vocab, ids = _topic_setup(1000)
    model, losses = emb.train_skipgram(ids, vocab.counts, D=16, epochs=6, seed=0)
    assert abs(losses[0] - 6 * math.log(2)) < 1e-12 and losses[-20:].mean() < 2.0
    E = model.centre.weight.detach()
    groups = {t: vocab.encode([w for w in ws if w != "apple"]) for t, ws in data.TOPICS.items()}
    hits = 0
    for t, members in groups.items():
        nbr, _ = emb.nearest_neighbours(E, torch.from_numpy(members), k=1)
        hits += int(np.isin(nbr[:, 0].numpy(), members).sum())
    n_words = sum(len(g) for g in groups.values())
    assert hits >= 0.9 * n_words, f"only {hits}/{n_words} nearest neighbours share the topic"
    random_hits = emb.same_group_fraction(_randn(len(vocab), 16), groups, k=1)
    assert np.mean(list(random_hits.values())) < 0.5


def test_topic_corpus_tag_senses_changes_only_the_shared_word():
    plain = data.topic_corpus(300, seed=2)
    tagged = data.topic_corpus(300, seed=2, tag_senses=True)
    changed = {(a, b) for s, t in zip(plain, tagged) for a, b in zip(s, t) if a != b}
    assert changed == {("apple", "apple_company"), ("apple", "apple_fruit")}
    assert all(len(s) == len(t) for s, t in zip(plain, tagged))


# --- bad input ---------------------------------------------------------------------

E_OK = _randn(5, 3)
IDS_OK = torch.tensor([0, 4, 2])


@pytest.mark.parametrize("call, match", [
    (lambda: emb.one_hot(IDS_OK, 0), "V must be"),
    (lambda: emb.one_hot(torch.tensor([0, 5]), 5), r"\[0, 5\)"),
    (lambda: emb.one_hot(torch.tensor([0.0, 1.0]), 5), "integer"),
    (lambda: emb.one_hot(torch.tensor([], dtype=torch.long), 5), "non-empty"),
    (lambda: emb.embed_lookup(IDS_OK, _randn(5)), r"E must have shape \(V, D\)"),
    (lambda: emb.embed_lookup(IDS_OK, torch.zeros(5, 3, dtype=torch.long)), "floating-point"),
    (lambda: emb.embed_lookup(torch.tensor([7]), E_OK), r"\[0, 5\)"),
    (lambda: emb.embed_onehot(IDS_OK, [[1.0]]), "must be an array"),
    (lambda: emb.embed_onehot(torch.tensor([-1]), E_OK), r"\[0, 5\)"),
    (lambda: emb.lookup_backward(IDS_OK, _randn(2, 3), 5), r"ids.shape \+ \(D,\)"),
    (lambda: emb.lookup_backward(IDS_OK, _randn(3), 5), "rank 2"),
    (lambda: emb.lookup_backward(IDS_OK, torch.zeros(3, 2, dtype=torch.long), 5), "floating-point"),
    (lambda: emb.lookup_backward(IDS_OK, _randn(3, 2), 4), r"\[0, 4\)"),
    (lambda: emb.cosine_similarity(_randn(3, 2), _randn(3, 4)), "D = 2"),
    (lambda: emb.cosine_similarity(torch.zeros(2, 3, dtype=torch.float64)), "non-zero"),
    (lambda: emb.cosine_similarity(_randn(3, 2), _randn(3, 2).float()), "same dtype"),
    (lambda: emb.nearest_neighbours(E_OK, IDS_OK, k=5), "k must be <= 4"),
    (lambda: emb.nearest_neighbours(E_OK, IDS_OK, k=0), "k must be"),
    (lambda: emb.nearest_neighbours(E_OK, torch.tensor([[0, 1]]), k=1), r"query must have shape \(q,\)"),
    (lambda: emb.same_group_fraction(E_OK, {}), "non-empty dict"),
    (lambda: emb.same_group_fraction(E_OK, {"a": np.array([], dtype=np.int64)}), "non-empty"),
    (lambda: emb.pca_2d(_randn(1, 3)), "at least 2 rows"),
    (lambda: emb.pca_2d(torch.ones(4, 3, dtype=torch.float64)), "rows that differ"),
    (lambda: emb.skipgram_pairs([np.array([1, 2])], 0), "window must be"),
    (lambda: emb.skipgram_pairs([], 2), "non-empty list"),
    (lambda: emb.skipgram_pairs([np.array([[1, 2]])], 2), r"sentences\[0\]"),
    (lambda: emb.skipgram_pairs([np.array([1, 2]), np.array([0.5])], 2), r"sentences\[1\]"),
    (lambda: emb.skipgram_pairs([np.array([], dtype=np.int64)], 2), r"sentences\[0\]"),
    (lambda: emb.noise_distribution(np.array([1, -1])), "non-negative"),
    (lambda: emb.noise_distribution(np.zeros(3)), "positive sum"),
    (lambda: emb.noise_distribution(np.ones(3), power=-1), "power must be"),
    (lambda: emb.noise_distribution(np.ones((2, 2))), r"counts must have shape \(V,\)"),
    (lambda: emb.SkipGram(0, 3), "V must be"),
    (lambda: emb.SkipGram(4, 2.5), "D must be"),
    (lambda: emb.SkipGram(5, 2)(IDS_OK, IDS_OK[:2], torch.zeros(3, 2, dtype=torch.long)),
     "contexts must have B = 3"),
    (lambda: emb.SkipGram(5, 2)(IDS_OK, IDS_OK, torch.zeros(3, dtype=torch.long)), "negatives must have shape"),
    (lambda: emb.SkipGram(5, 2)(IDS_OK, IDS_OK, torch.full((3, 2), 9)), r"\[0, 5\)"),
    (lambda: emb.train_skipgram([np.array([0, 1])], np.ones(2), lr=0), "lr must be"),
    (lambda: emb.train_skipgram([np.array([0, 1])], np.ones(2), epochs=0), "epochs must be"),
    (lambda: emb.train_skipgram([np.array([0, 1])], np.ones(2), seed=-1), "seed must be"),
    (lambda: emb.train_skipgram([np.array([0, 3])], np.ones(2)), r"\[0, 2\)"),
])
def test_bad_input_raises_one_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the chapter's labelled scatter plot ----------------------------------------------

def test_labelled_scatter_keeps_labels_apart():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib import plots
    points = np.random.default_rng(0).normal(size=(25, 2))     # as crowded as chapter 1's plot
    labels = [f"word{i}" for i in range(25)]
    fig, ax = plt.subplots(figsize=(5, 4.6))
    plots.labelled_scatter(ax, points, labels, [f"g{i % 4}" for i in range(25)])
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == labels
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    with pytest.raises(ValueError, match="25 entries"):
        plots.labelled_scatter(ax, points, labels[:3])
    plt.close(fig)
