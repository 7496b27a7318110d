"""A character-level language model with an RNN, GRU or LSTM cell (chapters 3 and 6).

The model reads characters as integer ids and, at every step, scores every
character of the vocabulary as the next one::

    e_t = E[k_t]                                  (embedding lookup)
    h_t = cell(e_t, h_{t-1})                      (eq-rnn-state for cell="rnn")
    y_t = W_hy h_t + b_y                          (eq-rnn-output)
          (= E h_t + b_y with tie=True: the read-out reuses E, eq-embed-tied)
    L   = mean_t -log softmax(y_t)[k_{t+1}]       (eq-lm-loss)
    perplexity = exp(L)                           (eq-lm-perplexity)

Training uses truncated backpropagation through time: the text is cut into
``batch_size`` parallel streams, each step reads the next ``seq_len``
characters of every stream, and the hidden state is carried from one chunk
to the next but detached, so gradients travel back at most ``seq_len`` steps.

Sampling divides the scores by a temperature before the softmax
(eq-lm-temperature): below 1 it sharpens the distribution, above 1 it
flattens it.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_choice, check_ids, check_positive, check_seed, check_tensor
from .train import fit

__all__ = ["CELLS", "CharLM", "detach_state", "make_streams", "train_charlm",
           "evaluate", "perplexity", "sample"]

#: Recurrent layers CharLM can use.
CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class CharLM(nn.Module):
    """Embedding, one recurrent layer, and a linear read-out to next-character scores.

    Args:
        V: vocabulary size (> 0).
        D: embedding size (> 0).
        H: hidden size (> 0).
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``; the layer is
            ``torch.nn.RNN``, ``torch.nn.GRU`` or ``torch.nn.LSTM`` with
            ``batch_first=True``.
        num_layers: stacked recurrent layers (> 0).
        seed: if given, the parameters are drawn from this seed without
            touching torch's global random state, so two models built with
            the same seed are identical.
        dtype: torch floating dtype of all parameters.
        tie: if True, tie the weights (eq-embed-tied): the read-out reuses the
            embedding matrix, so ``head.weight`` *is* ``embed.weight`` (one
            ``(V, D)`` parameter) and the model has ``V * D`` fewer
            parameters. Needs ``D == H``. The shared matrix keeps the
            read-out's initialization (``torch.nn.Linear``'s, uniform in
            ``[-1/sqrt(H), 1/sqrt(H)]``), so the first predictions are near
            uniform; the read-out keeps its own bias. With the same seed, a
            tied and an untied model start with the same recurrent layer and
            read-out.

    Attributes:
        embed (``V x D``), rnn, head (``H -> V``), tie.

    Raises:
        ValueError: on a non-positive size, an unknown cell, a negative seed,
            a non-floating dtype, or ``tie`` that is not a bool or is True
            with ``D != H``.
    """

    def __init__(self, V: int, D: int, H: int, cell: str = "rnn", num_layers: int = 1,
                 seed: int | None = None, dtype: torch.dtype = torch.float32,
                 tie: bool = False):
        super().__init__()
        for value, name in ((V, "V"), (D, "D"), (H, "H"), (num_layers, "num_layers")):
            check_positive(value, name, integer=True)
        check_choice(cell, "cell", CELLS)
        if not isinstance(tie, bool):
            raise ValueError(f"tie must be a bool; got {tie!r}")
        if tie and D != H:
            raise ValueError(f"tie=True needs D == H (the read-out's (V, H) weight is the "
                             f"(V, D) embedding); got D = {D}, H = {H}")
        if seed is not None:
            check_seed(seed)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"dtype must be a torch floating dtype; got {dtype}")
        self.V, self.D, self.H, self.cell, self.tie = V, D, H, cell, tie
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.embed = nn.Embedding(V, D, dtype=dtype)
            self.rnn = CELLS[cell](D, H, num_layers=num_layers, batch_first=True, dtype=dtype)
            self.head = nn.Linear(H, V, dtype=dtype)
        if tie:  # one parameter, read at the input (a row lookup) and at the output
            self.embed.weight = self.head.weight

    def forward(self, ids: torch.Tensor, state=None):
        """Scores for the next character at every step.

        Args:
            ids: integer tensor ``(B, T)`` with values in ``[0, V)``.
            state: the recurrent state from a previous call (``(L, B, H)``, or
                a pair of them for the LSTM), or ``None`` for zeros.

        Returns:
            ``(logits, state)``: ``logits`` of shape ``(B, T, V)`` and the
            state after the last step, to pass to the next call.

        Raises:
            ValueError: if ``ids`` is not a ``(B, T)`` integer tensor in range.
        """
        if not isinstance(ids, torch.Tensor):
            raise ValueError(f"ids must be a torch integer tensor of shape (B, T); "
                             f"got {type(ids).__name__}")
        check_tensor(ids, "ids", "(B, T)", dtype="int")
        check_ids(ids, "ids", self.V)
        if state is not None:
            self._check_state(state, ids.shape[0])
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state

    def _check_state(self, state, B: int) -> None:
        """A state must be what forward returned: ``(L, B, H)``, a pair of them for the LSTM."""
        L, H = self.rnn.num_layers, self.rnn.hidden_size
        want = f"a pair (h, c) of ({L}, {B}, {H}) tensors" if self.cell == "lstm" \
            else f"a ({L}, {B}, {H}) tensor"
        parts = state if self.cell == "lstm" else (state,)
        if self.cell == "lstm" and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise ValueError(f"state must be {want} for an LSTM model; got "
                             f"{type(state).__name__} of length {len(state) if isinstance(state, (tuple, list)) else '-'}")
        for part in parts:
            if not isinstance(part, torch.Tensor) or tuple(part.shape) != (L, B, H):
                raise ValueError(f"state must be {want}; got "
                                 f"{getattr(part, 'shape', type(part).__name__)}")

    def num_parameters(self) -> int:
        """The number of trainable numbers in the model (a tied matrix counts once)."""
        return sum(p.numel() for p in self.parameters())


def detach_state(state):
    """Cut the graph behind a recurrent state (a tensor, a tuple of them, or None).

    The values are kept; the gradient will not flow into the steps that made
    them. This is the truncation in truncated BPTT.
    """
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def make_streams(ids, batch_size: int) -> torch.Tensor:
    """Cut one long id sequence into ``batch_size`` equal, parallel streams.

    Stream ``b`` is the ``b``-th contiguous slice of the text, so reading
    column after column continues every stream where it stopped. The last
    ``len(ids) % batch_size`` ids are dropped.

    Args:
        ids: 1-D integer array or tensor of length ``N``.
        batch_size: number of streams (> 0, at most ``N // 2``).

    Returns:
        A LongTensor of shape ``(batch_size, N // batch_size)``.

    Raises:
        ValueError: if ``ids`` is not 1-D integer or is too short for
            ``batch_size`` streams of at least two ids.
    """
    check_positive(batch_size, "batch_size", integer=True)
    if isinstance(ids, np.ndarray):
        ids = torch.from_numpy(ids)
    if not isinstance(ids, torch.Tensor):
        raise ValueError(f"ids must be a 1-D integer array; got {type(ids).__name__}")
    N = check_tensor(ids, "ids", "(N,)", dtype="int")["N"]
    if N // batch_size < 2:
        raise ValueError(f"ids must hold at least 2 ids per stream; got N = {N} "
                         f"for batch_size = {batch_size}")
    n = N // batch_size
    return ids[: n * batch_size].long().reshape(batch_size, n)


def _loss(model, x, y, state):
    logits, state = model(x, state)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), state


@torch.no_grad()
def evaluate(model: CharLM, ids, batch_size: int = 1, seq_len: int = 256) -> float:
    """Mean cross-entropy (nats per character) of a model on a text (eq-lm-loss).

    The text is cut into ``batch_size`` streams (``make_streams``) read in
    chunks of ``seq_len``, carrying the state across chunks, so every
    prediction after the first of a stream sees all of its stream so far.

    Args:
        model: a ``CharLM``.
        ids: 1-D integer ids of the held-out text.
        batch_size: parallel streams (> 0); the default 1 reads the text as
            one stream, so only the very first character goes unpredicted.
        seq_len: characters per forward call (> 0); the state is carried
            across calls, so it changes the speed, not the result.

    Returns:
        The average of ``-log p(next character)`` over every predicted
        character, a float; ``perplexity`` turns it into a perplexity.

    Raises:
        ValueError: on bad ids, sizes, or ids outside the model's vocabulary.
    """
    check_positive(seq_len, "seq_len", integer=True)
    streams = make_streams(ids, batch_size)
    check_ids(streams, "ids", model.V)
    was_training = model.training
    model.eval()
    state, total, count = None, 0.0, 0
    for i in range(0, streams.shape[1] - 1, seq_len):
        x = streams[:, i:i + seq_len]
        y = streams[:, i + 1:i + 1 + seq_len]
        x = x[:, :y.shape[1]]
        loss, state = _loss(model, x, y, state)
        total += float(loss) * y.numel()
        count += y.numel()
    model.train(was_training)
    return total / count


def perplexity(loss: float) -> float:
    """``exp(loss)`` for a mean cross-entropy in nats (eq-lm-perplexity).

    A perplexity of ``p`` means the model is, on average, as unsure as if it
    chose uniformly among ``p`` characters.

    Raises:
        ValueError: if ``loss`` is not a non-negative number.
    """
    check_positive(loss, "loss", allow_zero=True)
    return math.exp(loss)


def train_charlm(model: CharLM, ids, *, steps: int, batch_size: int = 32, seq_len: int = 64,
                 lr: float = 3e-3, clip: float | None = 1.0, val_ids=None,
                 eval_every: int = 50, seed: int = 0) -> dict:
    """Train a ``CharLM`` with Adam and truncated BPTT; return its loss history.

    The training ids are cut into ``batch_size`` streams. Each step reads the
    next ``seq_len`` characters of every stream, predicts each following
    character, and backpropagates through those ``seq_len`` steps only: the
    state is carried into the next chunk with ``detach_state``. When the
    streams run out, a new pass starts from a random offset in
    ``[0, seq_len)`` (drawn from ``seed``) with a zero state, so chunk
    boundaries move from pass to pass.

    Args:
        model: a ``CharLM`` (trained in place).
        ids: 1-D integer ids of the training text.
        steps: number of parameter updates (> 0).
        batch_size: parallel streams (> 0).
        seq_len: truncation length, characters per chunk (> 0).
        lr: Adam learning rate (> 0).
        clip: maximum gradient norm (> 0), or ``None`` for no clipping.
        val_ids: optional 1-D ids of held-out text, scored with ``evaluate``
            every ``eval_every`` steps and after the last step.
        eval_every: steps between evaluations (> 0).
        seed: seed of the pass offsets (>= 0). The run is deterministic given
            the model's initial weights and ``seed``.

    Returns:
        A dict with ``"train_loss"`` (one mean cross-entropy per step, nats
        per character), ``"grad_norm"`` (the gradient's global norm at each
        step, before clipping; clipping acted on the steps where it exceeds
        ``clip``), ``"val_step"`` and ``"val_loss"`` (lists, empty if
        ``val_ids`` is None).

    Raises:
        ValueError: on a bad hyper-parameter, bad ids, or a text too short
            for one chunk of ``seq_len`` per stream.
    """
    check_positive(steps, "steps", integer=True)
    check_positive(seq_len, "seq_len", integer=True)
    check_positive(lr, "lr")
    check_positive(eval_every, "eval_every", integer=True)
    check_seed(seed)
    if clip is not None:
        check_positive(clip, "clip")
    streams = make_streams(ids, batch_size)
    check_ids(streams, "ids", model.V)
    n = streams.shape[1]
    if n < 2 * seq_len + 1:
        raise ValueError(f"ids must give each of the {batch_size} streams at least "
                         f"2 * seq_len + 1 = {2 * seq_len + 1} ids; got {n}")
    if val_ids is not None:
        check_ids(make_streams(val_ids, 1), "val_ids", model.V)
    rng = np.random.default_rng(seed)
    state = None

    def windows():
        """The next seq_len characters of every stream, pass after pass."""
        nonlocal state
        pos = int(rng.integers(seq_len))
        while True:
            if pos + seq_len + 1 > n:  # a new pass over the text, from a zero state
                pos, state = int(rng.integers(seq_len)), None
            yield streams[:, pos:pos + seq_len], streams[:, pos + 1:pos + seq_len + 1]
            pos += seq_len

    def loss_fn(batch):
        nonlocal state   # truncated BPTT: carry the state, cut its history
        loss, state = _loss(model, *batch, detach_state(state))
        return loss

    model.train()
    run = fit(model, windows(), loss_fn, steps=steps,
              optimizer=torch.optim.Adam(model.parameters(), lr=lr), clip=clip,
              evaluate=None if val_ids is None else (lambda: evaluate(model, val_ids)),
              eval_every=eval_every)
    history = {"train_loss": run.train_loss, "grad_norm": run.grad_norm,
               "val_step": run.eval_step, "val_loss": run.eval_value}
    return history


@torch.no_grad()
def sample(model: CharLM, vocab, prefix: str, n: int, temperature: float = 1.0,
           seed: int = 0) -> str:
    """Write ``n`` characters after ``prefix``, one at a time (eq-lm-temperature).

    The model reads the prefix, then repeatedly draws the next character from
    ``softmax(y_t / temperature)`` and feeds it back in. Draws use a private
    ``numpy.random.default_rng(seed)``, so the same model, prefix and seed
    give the same text.

    Args:
        model: a ``CharLM``.
        vocab: the ``seqlib.data.Vocab`` the model was trained with
            (``char_vocab``), of size ``model.V``.
        prefix: a non-empty string of characters in ``vocab``.
        n: number of characters to generate (> 0).
        temperature: > 0. Near 0 approaches always taking the most likely
            character; 1 samples the model's own distribution; above 1 is
            more random.
        seed: random seed (>= 0).

    Returns:
        ``prefix`` followed by the ``n`` generated characters.

    Raises:
        ValueError: if ``temperature`` <= 0, ``n`` < 1, ``prefix`` is empty
            or holds an unknown character, or ``vocab`` does not match.
    """
    check_positive(temperature, "temperature")
    check_positive(n, "n", integer=True)
    check_seed(seed)
    if not isinstance(prefix, str) or not prefix:
        raise ValueError("prefix must be a non-empty str")
    if len(vocab) != model.V:
        raise ValueError(f"vocab must have the model's size V = {model.V}; got {len(vocab)}")
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    ids = torch.from_numpy(vocab.encode(list(prefix)))[None]
    logits, state = model(ids)
    out = []
    for _ in range(n):
        scores = logits[0, -1].double() / temperature
        if not bool(torch.isfinite(scores).all()):  # y / temperature overflowed
            raise ValueError(f"temperature must be large enough that scores / temperature "
                             f"stay finite; got {temperature!r}")
        p = torch.softmax(scores, dim=0).numpy()
        k = int(rng.choice(len(p), p=p / p.sum()))
        out.append(k)
        logits, state = model(torch.tensor([[k]]), state)
    model.train(was_training)
    return prefix + "".join(vocab.decode(out))
