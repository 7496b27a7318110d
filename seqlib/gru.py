"""The GRU from scratch, in torch, in every convention the literature uses (chapter 6).

Weights are stored exactly as ``torch.nn.GRU`` stores them: ``W_ih`` of shape
``(3H, D)`` stacks the input weights of the three parts in torch's order
**r, z, n** (reset gate, update gate, candidate); ``W_hh`` of shape
``(3H, H)`` stacks the recurrent weights in the same order; and there are
**two** bias vectors ``b_ih`` and ``b_hh``, each ``(3H,)``.

Equations (chapter 6), for one time step, column vectors, torch's convention:

* reset gate (eq-gru-reset): ``r = sigmoid(W_xr x + b_xr + W_hr h_{t-1} + b_hr)``
* update gate (eq-gru-update): ``z = sigmoid(W_xz x + b_xz + W_hz h_{t-1} + b_hz)``
* candidate, reset AFTER the product (eq-gru-candidate):
  ``n = tanh(W_xn x + b_xn + r * (W_hn h_{t-1} + b_hn))``
* state (eq-gru-state): ``h_t = (1 - z) * n + z * h_{t-1}``

The first subscript says where a product comes from (``x`` the input, ``h``
the state), the second which part it feeds; torch's documentation writes
``W_ir`` for ``W_xr``, where ``i`` means *input*, not chapter 5's input gate.

Two other conventions are in print, and both are here:

* ``reset="before"`` (Cho et al., 2014, in the EMNLP paper and arXiv v3;
  eq-gru-candidate-cho; their arXiv v1 reset after, as torch does): the reset gate
  multiplies the old state before the matrix product,
  ``n = tanh(W_xn x + b_xn + W_hn (r * h_{t-1}) + b_hn)``. A different
  function, not a relabelling.
* ``update="replace"`` (Chung et al., 2014, and many tutorials;
  eq-gru-state-chung): ``h_t = (1 - z) * h_{t-1} + z * n``, so ``z`` is the
  share *replaced* instead of the share *kept*. The same family of functions:
  negating the update gate's weights and biases (:func:`flip_update_gate`)
  turns one into the other, because ``sigmoid(-a) = 1 - sigmoid(a)``.

Functions take batch-first arrays (``x`` is ``(B, D)``, ``X`` is
``(B, T, D)``) and work in any float dtype; the book checks them in float64.
"""
from __future__ import annotations

import torch
from torch import nn

from ._checks import check_choice, check_positive, check_tensor
from ._fused import gru_layer_fused
from ._stacked import PARAM_NAMES, StackedGateLayer, check_stacked_params, copy_params

__all__ = ["GATE_ORDER", "RESETS", "UPDATES", "gru_gates", "gru_cell", "gru_layer",
           "flip_update_gate", "GRULayer", "param_count"]

#: The three parts of a GRU, in the order torch.nn.GRU stacks their weights.
GATE_ORDER = ("r", "z", "n")
#: Where the reset gate acts: after the matrix product (torch, cuDNN, Cho et al.'s
#: arXiv v1) or before it (Cho et al.'s EMNLP paper and arXiv v3).
RESETS = ("after", "before")
#: What the update gate z measures: the share of the old state kept (Cho et al.,
#: torch) or the share replaced by the candidate (Chung et al.).
UPDATES = ("keep", "replace")
#: Blocks of weights per recurrent layer: the RNN has 1, the GRU 3, the LSTM 4.
_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}


def _check_params(W_ih, W_hh, b_ih, b_hh) -> tuple[int, int]:
    """Validate the four parameter tensors; return ``(D, H)``."""
    return check_stacked_params(W_ih, W_hh, b_ih, b_hh, 3, "parts r, z, n")


def _check_step(x, h_prev, D: int, H: int, dtype) -> int:
    """Validate one step's input and state; return ``B``."""
    B = check_tensor(x, "x", "(B, D)", dtype="float", sizes={"D": D})["B"]
    check_tensor(h_prev, "h_prev", "(B, H)", dtype="float", sizes={"B": B, "H": H})
    for name, a in (("x", x), ("h_prev", h_prev)):
        if not isinstance(a, torch.Tensor) or a.dtype != dtype:
            raise ValueError(f"{name} must be a torch tensor of dtype {dtype} like the weights; "
                             f"got {getattr(a, 'dtype', type(a).__name__)}")
    return B


def _check_conventions(reset: str, update: str) -> None:
    check_choice(reset, "reset", RESETS)
    check_choice(update, "update", UPDATES)


def gru_gates(x, h_prev, W_ih, W_hh, b_ih, b_hh, reset: str = "after"):
    """The reset gate, the update gate and the candidate of one GRU step.

    Implements eq-gru-reset, eq-gru-update and, with ``reset="after"``
    (torch), eq-gru-candidate ``n = tanh(W_xn x + b_xn + r * (W_hn h + b_hn))``;
    with ``reset="before"`` (Cho et al., 2014), eq-gru-candidate-cho
    ``n = tanh(W_xn x + b_xn + W_hn (r * h) + b_hn)``.

    Args:
        x: input ``x_t``, shape ``(B, D)``.
        h_prev: previous state ``h_{t-1}``, shape ``(B, H)``.
        W_ih: input weights, shape ``(3H, D)`` (blocks r, z, n).
        W_hh: recurrent weights, shape ``(3H, H)`` (blocks r, z, n).
        b_ih, b_hh: the two bias vectors, shape ``(3H,)`` each.
        reset: ``"after"`` or ``"before"``.

    Returns:
        ``(r, z, n)``, each ``(B, H)``; ``r`` and ``z`` lie in (0, 1), ``n``
        in (-1, 1).

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees, or ``reset``
            is unknown.
    """
    check_choice(reset, "reset", RESETS)
    D, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    _check_step(x, h_prev, D, H, W_ih.dtype)
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).split(H, dim=1)       # input parts, (B, H) each
    W_hr, W_hz, W_hn = W_hh.split(H, dim=0)                    # (H, H) each
    b_hr, b_hz, b_hn = b_hh.split(H)
    r = torch.sigmoid(i_r + h_prev @ W_hr.T + b_hr)            # (eq-gru-reset)
    z = torch.sigmoid(i_z + h_prev @ W_hz.T + b_hz)            # (eq-gru-update)
    if reset == "after":
        n = torch.tanh(i_n + r * (h_prev @ W_hn.T + b_hn))     # (eq-gru-candidate)
    else:
        n = torch.tanh(i_n + (r * h_prev) @ W_hn.T + b_hn)     # (eq-gru-candidate-cho)
    return r, z, n


def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh, reset: str = "after", update: str = "keep"):
    """One GRU step: ``(x_t, h_{t-1})`` to ``h_t``.

    With the defaults it implements torch's convention, eq-gru-state
    ``h_t = (1 - z) * n + z * h_{t-1}`` on top of :func:`gru_gates`, and equals
    ``torch.nn.GRUCell`` with the same four parameters. ``update="replace"``
    implements eq-gru-state-chung, ``h_t = (1 - z) * h_{t-1} + z * n``.

    Args:
        x: ``(B, D)``; h_prev: ``(B, H)``; W_ih: ``(3H, D)``; W_hh: ``(3H, H)``;
        b_ih, b_hh: ``(3H,)``.
        reset: ``"after"`` (torch) or ``"before"`` (Cho et al.).
        update: ``"keep"`` (z is the share of h_{t-1} kept: Cho et al., torch)
            or ``"replace"`` (z is the share replaced: Chung et al.).

    Returns:
        ``h_t``, shape ``(B, H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees, or a
            convention is unknown.
    """
    _check_conventions(reset, update)
    r, z, n = gru_gates(x, h_prev, W_ih, W_hh, b_ih, b_hh, reset=reset)
    if update == "keep":
        return z * h_prev + (1 - z) * n                         # (eq-gru-state)
    return (1 - z) * h_prev + z * n                             # (eq-gru-state-chung)


def gru_layer(X, W_ih, W_hh, b_ih, b_hh, h0=None, reset: str = "after", update: str = "keep",
              return_gates: bool = False):
    """Run a GRU over whole sequences, batch-first, like ``torch.nn.GRU(batch_first=True)``.

    Applies :func:`gru_cell` at every step (eq-gru-reset, eq-gru-update,
    eq-gru-candidate or eq-gru-candidate-cho, eq-gru-state or
    eq-gru-state-chung).

    Args:
        X: inputs, shape ``(B, T, D)``.
        W_ih: ``(3H, D)``; W_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)``.
        h0: initial state, shape ``(B, H)``; zeros when ``None``.
        reset, update: the conventions, see :func:`gru_cell`.
        return_gates: also return the gate activations.

    Returns:
        ``(out, h_T)`` with ``out`` of shape ``(B, T, H)`` (every ``h_t``) and
        ``h_T`` of shape ``(B, H)`` (torch.nn.GRU returns ``(1, B, H)``).
        With ``return_gates``, a third item: a dict with keys ``"r", "z",
        "n"``, each ``(B, T, H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees, or a
            convention is unknown.
    """
    _check_conventions(reset, update)
    D, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    B, T, _ = check_tensor(X, "X", "(B, T, D)", dtype="float", sizes={"D": D}).values()
    if not isinstance(X, torch.Tensor) or X.dtype != W_ih.dtype:
        raise ValueError(f"X must be a torch tensor of dtype {W_ih.dtype} like the weights; "
                         f"got {getattr(X, 'dtype', type(X).__name__)}")
    h = torch.zeros(B, H, dtype=X.dtype) if h0 is None else h0
    _check_step(X[:, 0], h, D, H, W_ih.dtype)
    outs, record = [], {k: [] for k in GATE_ORDER}
    for t in range(T):
        r, z, n = gru_gates(X[:, t], h, W_ih, W_hh, b_ih, b_hh, reset=reset)
        h = z * h + (1 - z) * n if update == "keep" else (1 - z) * h + z * n
        outs.append(h)
        if return_gates:
            for k, v in zip(GATE_ORDER, (r, z, n)):
                record[k].append(v)
    out = torch.stack(outs, dim=1)
    if return_gates:
        return out, h, {k: torch.stack(v, dim=1) for k, v in record.items()}
    return out, h


def flip_update_gate(W_ih, W_hh, b_ih, b_hh):
    """Convert GRU parameters between the ``"keep"`` and ``"replace"`` conventions.

    Negates the update gate's block (rows ``H:2H``) of all four parameters.
    Since ``sigmoid(-a) = 1 - sigmoid(a)``, the new ``z`` equals ``1 - z``,
    so ``gru_layer(..., update="replace")`` with the flipped parameters
    computes exactly what ``gru_layer(..., update="keep")`` computes with the
    original ones, and the other way round. The reset convention is untouched.

    Args:
        W_ih: ``(3H, D)``; W_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)``.

    Returns:
        Four new tensors of the same shapes (the inputs are not modified).

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees.
    """
    _, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    out = []
    for p in (W_ih, W_hh, b_ih, b_hh):
        q = p.detach().clone()
        q[H:2 * H] = -q[H:2 * H]
        out.append(q)
    return tuple(out)


class GRULayer(StackedGateLayer):
    """A one-layer GRU built from :func:`gru_layer`, with torch.nn.GRU's parameters.

    Parameters have torch's names and shapes (``weight_ih_l0`` ``(3H, D)``,
    ``weight_hh_l0`` ``(3H, H)``, ``bias_ih_l0`` and ``bias_hh_l0`` ``(3H,)``)
    and torch's initialization, uniform on ``[-1/sqrt(H), 1/sqrt(H)]``.

    Args:
        input_size: ``D`` (> 0).
        hidden_size: ``H`` (> 0).
        reset: ``"after"`` (torch) or ``"before"`` (Cho et al.).
        update: ``"keep"`` (torch, Cho et al.) or ``"replace"`` (Chung et al.).
        dtype: parameter dtype, float64 by default (the book's checks).

    Raises:
        ValueError: for non-positive sizes, an unknown convention or a
            non-float dtype.
    """

    blocks = 3  # r, z, n

    def __init__(self, input_size: int, hidden_size: int, reset: str = "after",
                 update: str = "keep", dtype=torch.float64):
        _check_conventions(reset, update)
        super().__init__(input_size, hidden_size, dtype)
        self.reset, self.update = reset, update

    def forward(self, X, h0=None, return_gates: bool = False):
        """Run over ``X`` of shape ``(B, T, D)``; see :func:`gru_layer`.

        In torch's conventions (``reset="after"``, ``update="keep"``) runs the
        fused layer (:func:`seqlib._fused.gru_layer_fused`: the same values and
        gradients, faster); with ``return_gates`` or another convention, the
        step-by-step :func:`gru_layer`.
        """
        if return_gates or (self.reset, self.update) != ("after", "keep"):
            return gru_layer(X, *self.params(), h0=h0, reset=self.reset, update=self.update,
                             return_gates=return_gates)
        return gru_layer_fused(X, *self.params(), h0=h0)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, reset={self.reset!r}, update={self.update!r}"

    @classmethod
    def from_torch(cls, module: nn.GRU, dtype=torch.float64) -> "GRULayer":
        """A copy of a one-layer, one-direction ``torch.nn.GRU`` (torch's conventions).

        Raises:
            ValueError: if ``module`` is not an ``nn.GRU`` with one layer, one
                direction and biases.
        """
        if not isinstance(module, nn.GRU):
            raise ValueError(f"module must be a torch.nn.GRU; got {type(module).__name__}")
        if module.num_layers != 1 or module.bidirectional or not module.bias:
            raise ValueError("module must be a torch.nn.GRU with num_layers=1, "
                             "bidirectional=False and bias=True")
        if not module.batch_first:  # same weights, but it reads (T, B, D): say so
            raise ValueError("module must have batch_first=True: this layer reads (B, T, D), "
                             "the time-major module (T, B, D); got batch_first=False")
        layer = cls(module.input_size, module.hidden_size, dtype=dtype)
        copy_params(layer, (getattr(module, name) for name in PARAM_NAMES))
        return layer

    def to_torch(self) -> nn.GRU:
        """A ``torch.nn.GRU(batch_first=True)`` computing the same function.

        A ``"replace"`` layer is converted with :func:`flip_update_gate`.

        Raises:
            ValueError: for a ``reset="before"`` layer: torch.nn.GRU only
                implements the reset-after GRU, and no copy of weights turns
                one into the other.
        """
        if self.reset != "after":
            raise ValueError("reset must be 'after' to convert to torch.nn.GRU (torch has no "
                             "reset-before GRU); got reset='before'")
        params = [p.detach() for p in self.params()]
        if self.update == "replace":
            params = flip_update_gate(*params)
        module = nn.GRU(self.input_size, self.hidden_size, batch_first=True).to(params[0].dtype)
        copy_params(module, params)
        return module


def param_count(cell: str, D: int, H: int) -> int:
    """Trainable numbers of one torch-style recurrent layer.

    Each of the cell's blocks (RNN 1; GRU 3: r, z, n; LSTM 4: i, f, g, o) has
    an ``(H, D)`` input matrix, an ``(H, H)`` recurrent matrix and two
    ``(H,)`` biases, so the count is ``blocks * (H*D + H*H + 2*H)`` and the
    ratio RNN : GRU : LSTM is exactly 1 : 3 : 4 for any ``D`` and ``H``.

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        D: input size (> 0).
        H: hidden size (> 0).

    Raises:
        ValueError: for an unknown cell or a non-positive size.
    """
    check_choice(cell, "cell", _BLOCKS)
    check_positive(D, "D", integer=True)
    check_positive(H, "H", integer=True)
    return _BLOCKS[cell] * (H * D + H * H + 2 * H)
