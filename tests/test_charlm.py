"""seqlib.charlm and the text loaders of seqlib.data: behaviour, determinism, bad input."""
import math

import numpy as np
import pytest
import torch

from seqlib import charlm, data
from seqlib.charlm import CharLM, detach_state, evaluate, make_streams, perplexity, sample, train_charlm
from seqlib.gradients import max_abs_diff


@pytest.fixture(scope="module")
def corpus():
    text = data.load_text()
    vocab = data.char_vocab(text)
    return text, vocab, vocab.encode(list(text))


def test_shipped_text_is_plain_ascii_prose_of_the_promised_size(corpus):
    text, vocab, ids = corpus
    assert 20_000 <= len(text) <= 40_000
    assert text.isascii() and "\r" not in text
    assert text.startswith("Notes on Sequences")
    assert len(vocab) == len(set(text)) and vocab.itos[0] == " "  # space is the most common
    assert "".join(vocab.decode(ids)) == text
    with pytest.raises(ValueError, match="notes_on_sequences"):
        data.load_text("war_and_peace")


def test_char_vocab_rejects_unknown_characters_and_empty_text():
    v = data.char_vocab("abba")
    assert v.itos == ["a", "b"]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        v.encode(list("abc"))
    with pytest.raises(ValueError, match="non-empty"):
        data.char_vocab("")


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_charlm_shapes_state_and_parameter_counts(cell):
    V, D, H = 11, 4, 6
    m = CharLM(V, D, H, cell=cell, seed=0)
    ids = torch.randint(0, V, (3, 5))
    logits, state = m(ids)
    assert logits.shape == (3, 5, V)
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    assert m.num_parameters() == V * D + gates * (H * D + H * H + 2 * H) + H * V + V
    # carrying the state over equals reading the whole sequence at once
    first, state = m(ids[:, :2])
    second, _ = m(ids[:, 2:], state)
    assert max_abs_diff(torch.cat([first, second], 1), logits) < 1e-6
    detached = detach_state(state)
    parts = detached if isinstance(detached, tuple) else (detached,)
    assert all(not s.requires_grad for s in parts)
    assert detach_state(None) is None


def test_charlm_seed_fixes_the_weights_without_touching_global_rng():
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    a = CharLM(7, 3, 4, seed=1)
    after = torch.rand(1)
    b = CharLM(7, 3, 4, seed=1)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert CharLM(7, 3, 4, dtype=torch.float64).head.weight.dtype == torch.float64


def test_make_streams_cuts_contiguous_slices():
    s = make_streams(np.arange(11), 3)
    assert s.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert s.dtype == torch.int64
    with pytest.raises(ValueError, match="at least 2 ids per stream"):
        make_streams(np.arange(5), 3)
    with pytest.raises(ValueError, match="integer"):
        make_streams(np.zeros(10), 2)


def test_untrained_loss_is_near_log_V_and_evaluate_counts_every_prediction(corpus):
    _, vocab, ids = corpus
    m = CharLM(len(vocab), 8, 16, seed=0, dtype=torch.float64)
    loss = evaluate(m, ids[:2000], batch_size=4, seq_len=50)
    assert abs(loss - math.log(len(vocab))) < 0.2
    # evaluate equals one pass over each stream with the state carried along
    streams = make_streams(ids[:2000], 4)
    with torch.no_grad():
        logits, _ = m(streams[:, :-1])
        ref = torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)),
                                                streams[:, 1:].reshape(-1)).item()
    assert abs(loss - ref) < 1e-10
    # the chunk length changes the speed, not the result, because the state is carried
    assert abs(evaluate(m, ids[:2000], batch_size=4, seq_len=7) - loss) < 1e-10
    assert perplexity(0.0) == 1.0 and abs(perplexity(math.log(7)) - 7) < 1e-12


def test_training_lowers_the_loss_and_is_deterministic(corpus):
    _, vocab, ids = corpus
    runs = []
    for _ in range(2):
        m = CharLM(len(vocab), 8, 32, seed=0, dtype=torch.float64)
        hist = train_charlm(m, ids[:6000], steps=60, batch_size=8, seq_len=20, lr=1e-2,
                            val_ids=ids[-1000:], eval_every=30, seed=1)
        runs.append((hist, m))
    (h1, m1), (h2, m2) = runs
    assert h1["train_loss"] == h2["train_loss"] and h1["val_loss"] == h2["val_loss"]
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))
    assert len(h1["train_loss"]) == 60 and h1["val_step"] == [30, 60]
    assert np.mean(h1["train_loss"][-10:]) < np.mean(h1["train_loss"][:10]) - 0.5
    assert h1["val_loss"][-1] < math.log(len(vocab)) - 0.5
    other = CharLM(len(vocab), 8, 32, seed=0, dtype=torch.float64)
    h3 = train_charlm(other, ids[:6000], steps=60, batch_size=8, seq_len=20, lr=1e-2, seed=2)
    assert h3["train_loss"] != h1["train_loss"] and h3["val_loss"] == []


def test_sampling_is_deterministic_and_temperature_sharpens(corpus):
    _, vocab, ids = corpus
    m = CharLM(len(vocab), 8, 32, seed=0)
    train_charlm(m, ids[:6000], steps=40, batch_size=8, seq_len=20, lr=1e-2)
    a = sample(m, vocab, "The ", 60, temperature=1.0, seed=3)
    assert a == sample(m, vocab, "The ", 60, temperature=1.0, seed=3)
    assert a.startswith("The ") and len(a) == 64 and set(a) <= set(vocab.itos)
    # a very low temperature is (almost surely) greedy: the seed stops mattering
    cold = [sample(m, vocab, "The ", 30, temperature=1e-3, seed=s) for s in range(3)]
    assert cold[0] == cold[1] == cold[2]
    hot = {sample(m, vocab, "The ", 30, temperature=2.0, seed=s) for s in range(3)}
    assert len(hot) == 3


def test_charlm_and_training_reject_bad_input(corpus):
    _, vocab, ids = corpus
    with pytest.raises(ValueError, match="cell must be one of"):
        CharLM(5, 2, 3, cell="transformer")
    with pytest.raises(ValueError, match="H must be"):
        CharLM(5, 2, 0)
    with pytest.raises(ValueError, match="dtype"):
        CharLM(5, 2, 3, dtype=torch.int32)
    m = CharLM(len(vocab), 4, 8, seed=0)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        m(torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\[0, "):
        m(torch.full((1, 3), len(vocab)))
    with pytest.raises(ValueError, match="integer"):
        m(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="steps"):
        train_charlm(m, ids, steps=0)
    with pytest.raises(ValueError, match="lr"):
        train_charlm(m, ids, steps=1, lr=-1.0)
    with pytest.raises(ValueError, match="clip"):
        train_charlm(m, ids, steps=1, clip=0)
    with pytest.raises(ValueError, match="2 \\* seq_len \\+ 1"):
        train_charlm(m, ids[:100], steps=1, batch_size=4, seq_len=20)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        train_charlm(CharLM(3, 2, 2), ids, steps=1)
    with pytest.raises(ValueError, match="loss"):
        perplexity(-0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"temperature": 0}, "temperature must be"),
    ({"temperature": -1.0}, "temperature must be"),
    ({"n": 0}, "n must be"),
    ({"prefix": ""}, "prefix"),
    ({"prefix": "\u00e9t\u00e9"}, "not in the vocabulary"),
    ({"seed": -1}, "seed"),
])
def test_sample_rejects(corpus, kwargs, match):
    _, vocab, _ = corpus
    m = CharLM(len(vocab), 4, 8, seed=0)
    args = {"prefix": "The", "n": 5, "temperature": 1.0, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=match):
        sample(m, vocab, **args)
    with pytest.raises(ValueError, match="vocab must have"):
        sample(CharLM(5, 2, 2), vocab, "The", 3)


def test_cells_table_lists_the_three_torch_layers():
    assert charlm.CELLS == {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gated_cells_train_and_sample_too(corpus, cell):
    """Chapter 6 reuses the trainer with GRU and LSTM cells (the LSTM state is a pair)."""
    _, vocab, ids = corpus
    m = CharLM(len(vocab), 8, 16, cell=cell, seed=0, dtype=torch.float64)
    hist = train_charlm(m, ids[:4000], steps=6, batch_size=4, seq_len=16, lr=1e-2,
                        val_ids=ids[-500:], eval_every=3)
    assert len(hist["train_loss"]) == 6 and hist["val_step"] == [3, 6]
    assert all(np.isfinite(hist["train_loss"]))
    assert sample(m, vocab, "a", 10, seed=0).startswith("a")


def test_training_records_the_gradient_norm_before_clipping(corpus):
    """grad_norm is the norm clipping sees: no clip and a bound it never reaches train alike."""
    _, vocab, ids = corpus
    runs = {}
    for clip in (None, 1e6, 1e-3):
        m = CharLM(len(vocab), 4, 8, seed=0, dtype=torch.float64)
        runs[clip] = train_charlm(m, ids[:3000], steps=5, batch_size=4, seq_len=16, lr=1e-2, clip=clip)
    norms = runs[None]["grad_norm"]
    assert len(norms) == 5 and all(np.isfinite(norms)) and min(norms) > 0
    assert runs[1e6]["train_loss"] == runs[None]["train_loss"] and runs[1e6]["grad_norm"] == norms
    assert runs[1e-3]["grad_norm"][0] == norms[0]          # same first gradient, measured before clipping
    assert runs[1e-3]["train_loss"][1:] != runs[None]["train_loss"][1:]  # the tight bound acted


def test_tied_model_reads_and_writes_with_one_matrix():
    """tie=True (eq-embed-tied): y_t = E h_t + b_y, V * D fewer parameters, dense updates of E."""
    V, H = 11, 6
    untied = CharLM(V, H, H, seed=0, dtype=torch.float64)
    tied = CharLM(V, H, H, seed=0, dtype=torch.float64, tie=True)
    assert tied.head.weight is tied.embed.weight and tied.tie and not untied.tie
    assert untied.num_parameters() - tied.num_parameters() == V * H
    # same seed: same recurrent layer and read-out; the tied embedding is that read-out
    assert torch.equal(tied.head.weight, untied.head.weight)
    assert all(torch.equal(p, q) for p, q in zip(tied.rnn.parameters(), untied.rnn.parameters()))
    ids = torch.tensor([[1, 4, 1, 2], [4, 4, 0, 1]])
    logits, _ = tied(ids)
    out, _ = tied.rnn(tied.head.weight[ids])                     # input rows of E ...
    assert max_abs_diff(logits, out @ tied.head.weight.T + tied.head.bias) < 1e-12  # ... output E h
    # the lookup's gradient touches 4 rows; the read-out's, through the softmax, all V
    for m in (untied, tied):
        loss = torch.nn.functional.cross_entropy(m(ids)[0].reshape(-1, V), ids.roll(1).reshape(-1))
        loss.backward()
    assert torch.count_nonzero(untied.embed.weight.grad.abs().sum(1)) == 4
    assert torch.count_nonzero(tied.embed.weight.grad.abs().sum(1)) == V
    # and it trains like any other model (Adam sees the shared matrix once)
    hist = train_charlm(CharLM(V, 4, 4, seed=0, tie=True), np.arange(400) % V, steps=3,
                        batch_size=2, seq_len=8)
    assert len(hist["train_loss"]) == 3 and all(np.isfinite(hist["train_loss"]))
    with pytest.raises(ValueError, match="tie=True needs D == H"):
        CharLM(V, 4, 6, tie=True)
    with pytest.raises(ValueError, match="tie must be a bool"):
        CharLM(V, 4, 4, tie=1)
