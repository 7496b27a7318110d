"""seqlib.ngram: interpolated Kneser-Ney against a hand computation, normalization, bad input."""
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from seqlib import data
from seqlib.ngram import KneserNey


@pytest.fixture(scope="module")
def text_ids():
    text = data.load_text()
    vocab = data.char_vocab(text)
    return vocab.encode(list(text[:6000])), len(vocab)


def test_matches_a_hand_computed_bigram_example():
    # Text "a b a b c" as ids 0 1 0 1 2, V = 4 (id 3 never occurs), one discount 1/2.
    # Order 1 uses continuation counts: each of 0, 1, 2 follows one distinct id, so
    # P1(w) = (1 - 1/2) / 3 + (3 * 1/2 / 3) * 1/4 = 7/24 for w in {0, 1, 2}, and 3/24 for 3.
    # Order 2, context 0: only "0 1", twice: P(1|0) = (2 - 1/2)/2 + (1/2)/2 * 7/24 = 79/96.
    # Order 2, context 1: "1 0" and "1 2" once each: P(0|1) = (1/2)/2 + (1/2 + 1/2)/2 * 7/24 = 19/48.
    m = KneserNey(2, 4, discount=0.5).fit(np.array([0, 1, 0, 1, 2]))
    want = {(): [Fraction(7, 24)] * 3 + [Fraction(3, 24)],
            (0,): [Fraction(7, 96), Fraction(79, 96), Fraction(7, 96), Fraction(3, 96)],
            (1,): [Fraction(19, 48), Fraction(7, 48), Fraction(19, 48), Fraction(3, 48)],
            (2,): [Fraction(7, 24)] * 3 + [Fraction(3, 24)],   # unseen context: order 1
            (3,): [Fraction(7, 24)] * 3 + [Fraction(3, 24)]}
    for context, probs in want.items():
        assert np.abs(m.prob(list(context)) - np.array([float(q) for q in probs])).max() < 1e-15
    assert m.counts[1] == {(0,): 1, (1,): 1, (2,): 1}       # continuation, not raw, counts
    assert m.counts[2] == {(0, 1): 2, (1, 0): 1, (1, 2): 1}
    assert m.num_ngrams == 6
    # the surprise of a sequence uses the same probabilities, one per prediction
    nll = m.nll(np.array([0, 1, 3, 2]))
    assert np.abs(nll - [-math.log(79 / 96), -math.log(3 / 48), -math.log(7 / 24)]).max() < 1e-15


def test_continuation_counts_favour_ids_that_follow_many_contexts():
    # id 2 occurs five times but only after id 1; id 3 occurs twice, after two different ids
    seq = np.array([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 0, 3, 4, 3])
    m = KneserNey(2, 5, discount=0.5).fit(seq)
    assert m.counts[1][(2,)] == 1 and m.counts[1][(3,)] == 2
    p = m.prob([0])                          # after id 0 (seen once, followed by 3)
    p_unseen = m.prob([])                    # the order-1 distribution
    assert p_unseen[3] > p_unseen[2]         # raw counts would say the opposite
    assert abs(p.sum() - 1) < 1e-12


@pytest.mark.parametrize("discount", ["modified", "plain", 0.75])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_probabilities_sum_to_one_for_seen_and_unseen_contexts(text_ids, n, discount):
    ids, V = text_ids
    m = KneserNey(n, V, discount=discount).fit(ids[:4000])
    rng = np.random.default_rng(n)
    seen = [ids[i - n + 1:i] for i in rng.integers(n, 4000, size=20)]
    unseen = [rng.integers(0, V, size=n - 1) for _ in range(20)]           # mostly never seen
    unseen += [np.full(max(n - 1, 1), V - 1), np.array([], dtype=np.int64)]
    for context in seen + unseen:
        p = m.prob(context)
        assert p.shape == (V,) and (p > 0).all()
        assert abs(p.sum() - 1) < 1e-12
    # nll agrees with prob, including the short contexts at the start
    seq = ids[4000:4040]
    nll = m.nll(seq)
    ref = [-math.log(m.prob(seq[max(0, i - n + 1):i])[seq[i]]) for i in range(1, len(seq))]
    assert nll.shape == (39,) and np.abs(nll - ref).max() < 1e-12


def test_discounts_follow_the_count_of_counts(text_ids):
    ids, V = text_ids
    mod = KneserNey(3, V).fit(ids)
    plain = KneserNey(3, V, discount="plain").fit(ids)
    for k in (1, 2, 3):
        r = Counter(mod.counts[k].values())
        Y = r[1] / (r[1] + 2 * r[2])
        assert plain.discounts[k] == pytest.approx((Y,) * 3, abs=1e-15)
        want = (1 - 2 * Y * r[2] / r[1], 2 - 3 * Y * r[3] / r[2], 3 - 4 * Y * r[4] / r[3])
        assert mod.discounts[k] == pytest.approx(want, abs=1e-15)
    # the top order holds the raw counts of every distinct trigram
    assert sum(mod.counts[3].values()) == len(ids) - 2
    assert mod.num_ngrams == sum(len(mod.counts[k]) for k in (1, 2, 3))


def test_more_context_helps_on_held_out_text(text_ids):
    ids, V = text_ids
    losses = [KneserNey(n, V).fit(ids[:5000]).nll(ids[5000:])[4:].mean() for n in (1, 2, 3, 4)]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    assert losses[0] < math.log(V)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be"),
    ({"n": 2.0}, "n must be"),
    ({"n": True}, "n must be"),
    ({"V": 0}, "V must be"),
    ({"discount": "absolute"}, "discount must be"),
    ({"discount": 0}, "discount must be"),
    ({"discount": 1.5}, "discount must be"),
    ({"discount": float("nan")}, "discount must be"),
    ({"discount": True}, "discount must be"),
])
def test_constructor_rejects(kwargs, match):
    args = {"n": 3, "V": 5, "discount": "modified"} | kwargs
    with pytest.raises(ValueError, match=match):
        KneserNey(**args)


def test_fit_prob_and_nll_reject_bad_input():
    m = KneserNey(3, 5)
    with pytest.raises(ValueError, match="fitted first"):
        m.prob([1, 2])
    with pytest.raises(ValueError, match="fitted first"):
        m.nll(np.array([1, 2]))
    with pytest.raises(ValueError, match="1-D integer NumPy array"):
        m.fit([0, 1, 2, 3])
    with pytest.raises(ValueError, match="1-D integer NumPy array"):
        m.fit(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="integer token ids"):
        m.fit(np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="integer token ids"):
        m.fit(np.array([True, False, True]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        m.fit(np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="at least n = 3"):
        m.fit(np.array([0, 1]))
    m.fit(np.array([0, 1, 2, 3, 4, 0, 1]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        m.prob([1, -1])
    with pytest.raises(ValueError, match="integer token ids"):
        m.prob([1.5])
    with pytest.raises(ValueError, match="context must be"):
        m.prob("ab")
    with pytest.raises(ValueError, match="context must be"):
        m.prob(3)
    with pytest.raises(ValueError, match="at least 2 ids"):
        m.nll(np.array([1]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        m.nll(np.array([1, 7]))
