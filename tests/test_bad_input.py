"""Bad input gets one clear ValueError naming the argument: never a silent wrong
result, a hang, or an error from deep inside torch or NumPy.

One test per class of bad input the independent checks found (issue 10).
"""
import math

import numpy as np
import pytest
import torch

import seqlib
from seqlib import charlm, data, embeddings, gru, longlag, lstm, norms

NAN, INF = math.nan, math.inf
F64 = torch.float64


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("call, name", [
    (lambda v: norms.layer_norm(torch.ones(2, 3, dtype=F64), eps=v), "eps"),
    (lambda v: norms.rms_norm(torch.ones(2, 3, dtype=F64), eps=v), "eps"),
    (lambda v: norms.batch_norm(torch.ones(2, 3, 4, dtype=F64), eps=v), "eps"),
    (lambda v: norms.warmup_lr(1, v, 10), "base_lr"),
    (lambda v: charlm.perplexity(v), "loss"),
    (lambda v: embeddings.noise_distribution([1.0, 2.0], power=v), "power"),
    (lambda v: longlag.make_model("rnn", gain=v), "gain"),
    (lambda v: longlag.train(longlag.make_model("rnn"), 5, steps=1, lr=v), "lr"),
    (lambda v: longlag.train(longlag.make_model("rnn"), 5, steps=1, clip=v), "clip"),
    (lambda v: charlm.sample(charlm.CharLM(3, 2, 4), data.char_vocab("abc"), "ab", 2,
                             temperature=v), "temperature"),
])
def test_non_finite_hyper_parameters_are_refused(call, name, bad):
    with pytest.raises(ValueError, match=name):
        call(bad)


def test_a_temperature_that_overflows_the_scores_is_refused():
    model = charlm.CharLM(3, 2, 4)
    with torch.no_grad():
        model.head.bias.fill_(1.0)  # scores of size ~1, divided by 1e-320 overflow
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample(model, data.char_vocab("abc"), "ab", 2, temperature=1e-320)


@pytest.mark.parametrize("counts", [
    [1.0, NAN, 2.0], [1.0, INF], np.array([1 + 1j, 2.0]), torch.tensor([True, False])])
def test_counts_must_be_finite_real_numbers(counts):
    with pytest.raises(ValueError, match="counts"):
        embeddings.noise_distribution(counts)


@pytest.mark.parametrize("ids", [
    torch.tensor([1.7, 2.0]), torch.tensor([True, False]), np.array([1.5]), [1.7, 2.0],
    [True, False]])
def test_non_integer_ids_are_refused_not_truncated(ids):
    E = torch.randn(5, 3, dtype=F64)
    with pytest.raises(ValueError, match="ids"):
        embeddings.embed_lookup(ids, E)
    with pytest.raises(ValueError, match="ids"):
        embeddings.one_hot(ids, 5)
    with pytest.raises(ValueError, match="ids"):
        data.Vocab("a b c".split()).decode(ids)


def test_a_float_or_bool_query_is_not_an_id():
    E = torch.randn(5, 3, dtype=F64)
    for query in (1.5, True):
        with pytest.raises(ValueError):
            embeddings.nearest_neighbours(E, query)


@pytest.mark.parametrize("lexicon", [[""], ["", "ab"], [1, "a"], [None]])
def test_max_match_refuses_words_that_match_nothing(lexicon):
    # [""] used to loop forever: the empty word matches zero characters.
    with pytest.raises(ValueError, match="lexicon"):
        data.max_match("abc", lexicon)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70, 1.5, True, "0"])
def test_seeds_outside_numpys_range_are_refused(seed):
    for call in (seqlib.seed_everything,
                 lambda s: data.adding_problem(2, 5, seed=s),
                 lambda s: data.parity_task(2, 5, seed=s),
                 lambda s: data.topic_corpus(10, seed=s),
                 lambda s: charlm.sample(charlm.CharLM(3, 2, 4), data.char_vocab("abc"), "a", 1,
                                         seed=s)):
        with pytest.raises(ValueError, match="seed"):
            call(seed)


def test_largest_seed_is_accepted():
    X, _ = data.adding_problem(2, 5, seed=2**32 - 1)
    assert X.shape == (2, 5, 2)


def test_lstm_cell_needs_its_cell_state():
    D, H = 3, 4
    W_ih, W_hh = torch.randn(4 * H, D, dtype=F64), torch.randn(4 * H, H, dtype=F64)
    b = torch.zeros(4 * H, dtype=F64)
    x, h = torch.randn(2, D, dtype=F64), torch.zeros(2, H, dtype=F64)
    with pytest.raises(ValueError, match="c_prev"):
        lstm.lstm_cell(x, h, None, W_ih, W_hh, b, b)


@pytest.mark.parametrize("cell, state", [
    ("lstm", (torch.zeros(1, 1, 8),)),
    ("lstm", (torch.zeros(1, 1, 8),) * 3),
    ("lstm", torch.zeros(1, 1, 8)),
    ("rnn", torch.zeros(1, 2, 8)),
    ("gru", (torch.zeros(1, 1, 8), torch.zeros(1, 1, 8))),
])
def test_charlm_state_of_the_wrong_form_is_refused(cell, state):
    model = charlm.CharLM(5, 4, 8, cell=cell)
    with pytest.raises(ValueError, match="state"):
        model(torch.tensor([[1, 2, 3]]), state)


def test_charlm_state_it_returned_is_accepted():
    model = charlm.CharLM(5, 4, 8, cell="lstm")
    _, state = model(torch.tensor([[1, 2, 3]]))
    logits, _ = model(torch.tensor([[4]]), state)
    assert logits.shape == (1, 1, 5)


@pytest.mark.parametrize("layer, module", [
    (lstm.LSTMLayer, torch.nn.LSTM(3, 4)), (gru.GRULayer, torch.nn.GRU(3, 4))])
def test_time_major_modules_are_not_copied_into_batch_first_layers(layer, module):
    with pytest.raises(ValueError, match="batch_first"):
        layer.from_torch(module)


def _classifier_data():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3), torch.randn(20, 4), torch.randint(0, 3, (20,))


@pytest.mark.parametrize("change, name", [
    (lambda m, X, y: (m, X, y + 3), "y"),            # labels >= C
    (lambda m, X, y: (m, X, y - 5), "y"),            # negative labels
    (lambda m, X, y: (m, X, y.float()), "y"),        # float labels
    (lambda m, X, y: (m, torch.randn(20, 7), y), "X"),  # wrong width
    (lambda m, X, y: (m, X, y[:5]), "y"),            # wrong length
])
def test_train_classifier_checks_labels_and_widths(change, name):
    model, X, y = change(*_classifier_data())
    with pytest.raises(ValueError, match=name):
        norms.train_classifier(model, X, y, lr=0.01, steps=1)


def test_train_classifier_refuses_a_bad_seed():
    model, X, y = _classifier_data()
    with pytest.raises(ValueError, match="seed"):
        norms.train_classifier(model, X, y, lr=0.01, steps=1, seed=-1)
