"""The LSTM from scratch, in torch, equal to ``torch.nn.LSTM`` with copied weights.

Weights are stored exactly as ``torch.nn.LSTM`` stores them, so copying is a
plain assignment: ``W_ih`` of shape ``(4H, D)`` stacks the input weights of
the four parts in torch's order **i, f, g, o** (input gate, forget gate,
candidate, output gate); ``W_hh`` of shape ``(4H, H)`` stacks the recurrent
weights in the same order; and there are **two** bias vectors, ``b_ih`` and
``b_hh``, each ``(4H,)``, which are always added together (the equations'
single bias of gate ``i`` is ``b_ih[:H] + b_hh[:H]``).

Equations (chapter 5), for one time step, column vectors:

* gates (eq-lstm-forget, eq-lstm-input, eq-lstm-output) and candidate
  (eq-lstm-candidate): ``a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh``, split
  into four blocks; ``i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)``,
  ``g = tanh(a_g)``;
* cell (eq-lstm-cell): ``c_t = f * c_{t-1} + i * g``;
* hidden (eq-lstm-hidden): ``h_t = o * tanh(c_t)``.

Functions take batch-first arrays (``x`` is ``(B, D)``, ``X`` is
``(B, T, D)``) and work in any float dtype; the book checks them in float64.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._checks import check_tensor
from ._fused import lstm_layer_fused
from ._stacked import PARAM_NAMES, StackedGateLayer, check_stacked_params, copy_params

#: The four parts of an LSTM, in the order torch.nn.LSTM stacks their weights.
GATE_ORDER = ("i", "f", "g", "o")


def _check_params(W_ih, W_hh, b_ih, b_hh) -> tuple[int, int]:
    """Validate the four parameter tensors; return ``(D, H)``."""
    return check_stacked_params(W_ih, W_hh, b_ih, b_hh, 4, "gates i, f, g, o")


def _check_state(x, h_prev, c_prev, D: int, H: int, dtype) -> int:
    """Validate one step's inputs (``c_prev`` may be None); return ``B``."""
    B = check_tensor(x, "x", "(B, D)", dtype="float", sizes={"D": D})["B"]
    named = [("x", x), ("h_prev", h_prev)] + ([("c_prev", c_prev)] if c_prev is not None else [])
    for name, a in named[1:]:
        check_tensor(a, name, "(B, H)", dtype="float", sizes={"B": B, "H": H})
    for name, a in named:
        if not isinstance(a, torch.Tensor) or a.dtype != dtype:
            raise ValueError(f"{name} must be a torch tensor of dtype {dtype} like the weights; "
                             f"got {getattr(a, 'dtype', type(a).__name__)}")
    return B


def lstm_gates(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """The three gates and the candidate of one LSTM step.

    Implements eq-lstm-forget, eq-lstm-input, eq-lstm-candidate and
    eq-lstm-output: one matrix product per input computes all four
    pre-activations at once, then torch's block order i, f, g, o splits them.

    Args:
        x: input ``x_t``, shape ``(B, D)``.
        h_prev: previous hidden state ``h_{t-1}``, shape ``(B, H)``.
        W_ih: input weights, shape ``(4H, D)`` (blocks i, f, g, o).
        W_hh: recurrent weights, shape ``(4H, H)``.
        b_ih, b_hh: the two bias vectors, shape ``(4H,)`` each.

    Returns:
        ``(i, f, g, o)``, each of shape ``(B, H)``; ``i, f, o`` lie in (0, 1),
        ``g`` in (-1, 1).

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees.
    """
    D, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    _check_state(x, h_prev, None, D, H, W_ih.dtype)
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh          # (B, 4H)
    a_i, a_f, a_g, a_o = a.split(H, dim=1)
    return torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)


def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step: three inputs ``(c_{t-1}, h_{t-1}, x_t)``, two outputs ``(h_t, c_t)``.

    Implements eq-lstm-cell (``c_t = f * c_{t-1} + i * g``) and eq-lstm-hidden
    (``h_t = o * tanh(c_t)``) on top of :func:`lstm_gates`. Equals
    ``torch.nn.LSTMCell`` with the same four parameters.

    Args:
        x: ``(B, D)``; h_prev, c_prev: ``(B, H)``; W_ih: ``(4H, D)``;
        W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``.

    Returns:
        ``(h, c)``, each ``(B, H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees.
    """
    D, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    if c_prev is None:  # the LSTM carries two states; zeros start a sequence
        raise ValueError("c_prev must be the previous cell state, a (B, H) tensor "
                         "(zeros at the first step); got None")
    _check_state(x, h_prev, c_prev, D, H, W_ih.dtype)
    i, f, g, o = lstm_gates(x, h_prev, W_ih, W_hh, b_ih, b_hh)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return h, c


def lstm_layer(X, W_ih, W_hh, b_ih, b_hh, h0=None, c0=None, return_gates: bool = False):
    """Run an LSTM over whole sequences, batch-first, like ``torch.nn.LSTM(batch_first=True)``.

    Applies :func:`lstm_cell` (eq-lstm-cell, eq-lstm-hidden) at every step.

    Args:
        X: inputs, shape ``(B, T, D)``.
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``.
        h0, c0: initial states, shape ``(B, H)``; zeros when ``None``.
        return_gates: also return the gate activations.

    Returns:
        ``(out, (h_T, c_T))`` with ``out`` of shape ``(B, T, H)`` (every
        ``h_t``) and final states of shape ``(B, H)``. Note: torch.nn.LSTM
        returns final states of shape ``(1, B, H)``. With ``return_gates``, a
        third item: a dict with keys ``"i", "f", "g", "o", "c"``, each
        ``(B, T, H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees.
    """
    D, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    B, T, _ = check_tensor(X, "X", "(B, T, D)", dtype="float", sizes={"D": D}).values()
    if not isinstance(X, torch.Tensor) or X.dtype != W_ih.dtype:
        raise ValueError(f"X must be a torch tensor of dtype {W_ih.dtype} like the weights; "
                         f"got {getattr(X, 'dtype', type(X).__name__)}")
    h = torch.zeros(B, H, dtype=X.dtype) if h0 is None else h0
    c = torch.zeros(B, H, dtype=X.dtype) if c0 is None else c0
    _check_state(X[:, 0], h, c, D, H, W_ih.dtype)
    outs, record = [], {k: [] for k in ("i", "f", "g", "o", "c")}
    for t in range(T):
        if return_gates:
            for k, v in zip(GATE_ORDER, lstm_gates(X[:, t], h, W_ih, W_hh, b_ih, b_hh)):
                record[k].append(v)
        h, c = lstm_cell(X[:, t], h, c, W_ih, W_hh, b_ih, b_hh)
        outs.append(h)
        if return_gates:
            record["c"].append(c)
    out = torch.stack(outs, dim=1)
    if return_gates:
        return out, (h, c), {k: torch.stack(v, dim=1) for k, v in record.items()}
    return out, (h, c)


class LSTMLayer(StackedGateLayer):
    """A one-layer LSTM built from :func:`lstm_layer`, with torch.nn.LSTM's parameters.

    Parameters have torch's names and shapes (``weight_ih_l0`` ``(4H, D)``,
    ``weight_hh_l0`` ``(4H, H)``, ``bias_ih_l0`` and ``bias_hh_l0`` ``(4H,)``)
    and torch's initialisation, uniform on ``[-1/sqrt(H), 1/sqrt(H)]``, so
    ``load_state_dict`` works both ways.

    Args:
        input_size: ``D`` (> 0).
        hidden_size: ``H`` (> 0).
        dtype: parameter dtype, float64 by default (the book's checks).

    Raises:
        ValueError: for non-positive sizes or a non-float dtype.
    """

    blocks = 4  # i, f, g, o

    def forward(self, X, state=None, return_gates: bool = False):
        """Run over ``X`` of shape ``(B, T, D)``; see :func:`lstm_layer`.

        Runs the fused layer (:func:`seqlib._fused.lstm_layer_fused`: the same
        values and gradients, with the input projection hoisted, the gates
        fused and a hand-written backward pass); with ``return_gates``, the
        step-by-step :func:`lstm_layer`, which records the gates.

        Args:
            X: ``(B, T, D)``.
            state: optional ``(h0, c0)``, each ``(B, H)``.
            return_gates: also return the gates, as in :func:`lstm_layer`.
        """
        h0, c0 = (None, None) if state is None else state
        if return_gates:
            return lstm_layer(X, *self.params(), h0=h0, c0=c0, return_gates=True)
        return lstm_layer_fused(X, *self.params(), h0=h0, c0=c0)

    @classmethod
    def from_torch(cls, module: nn.LSTM, dtype=torch.float64) -> "LSTMLayer":
        """A copy of a one-layer, one-direction ``torch.nn.LSTM`` (weights copied, cast to ``dtype``).

        Raises:
            ValueError: if ``module`` is not an ``nn.LSTM`` with one layer, one
                direction, biases and no projection.
        """
        if not isinstance(module, nn.LSTM):
            raise ValueError(f"module must be a torch.nn.LSTM; got {type(module).__name__}")
        if (module.num_layers != 1 or module.bidirectional or not module.bias
                or module.proj_size != 0):
            raise ValueError("module must be a torch.nn.LSTM with num_layers=1, "
                             "bidirectional=False, bias=True and proj_size=0")
        if not module.batch_first:  # same weights, but it reads (T, B, D): say so
            raise ValueError("module must have batch_first=True: this layer reads (B, T, D), "
                             "the time-major module (T, B, D); got batch_first=False")
        layer = cls(module.input_size, module.hidden_size, dtype=dtype)
        copy_params(layer, (getattr(module, name) for name in PARAM_NAMES))
        return layer

    def to_torch(self) -> nn.LSTM:
        """A ``torch.nn.LSTM(batch_first=True)`` with this layer's weights and dtype."""
        dtype = self.weight_ih_l0.dtype
        module = nn.LSTM(self.input_size, self.hidden_size, batch_first=True).to(dtype)
        copy_params(module, self.params())
        return module


def lstm_step_jacobian(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh) -> torch.Tensor:
    """The Jacobian of one LSTM step with respect to its state, by hand.

    The state is ``s = [h; c]`` (size 2H). Differentiating eq-lstm-cell and
    eq-lstm-hidden, with ``a`` the pre-activations and ``W_hi, W_hf, W_hg,
    W_ho`` the four ``(H, H)`` blocks of ``W_hh``::

        ∂c_t/∂c_{t-1} = diag(f)                                  (eq-lstm-cell-path)
        ∂c_t/∂h_{t-1} = diag(c_{t-1} f(1-f)) W_hf + diag(g i(1-i)) W_hi
                        + diag(i (1-g²)) W_hg
        ∂h_t/∂c_{t-1} = diag(o (1 - tanh²c_t)) diag(f)
        ∂h_t/∂h_{t-1} = diag(tanh(c_t) o(1-o)) W_ho + diag(o (1 - tanh²c_t)) ∂c_t/∂h_{t-1}

    Args:
        x: one input, shape ``(D,)``; h_prev, c_prev: ``(H,)``;
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``.

    Returns:
        ``∂[h_t; c_t]/∂[h_{t-1}; c_{t-1}]``, shape ``(2H, 2H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees.
    """
    D, H = _check_params(W_ih, W_hh, b_ih, b_hh)
    check_tensor(x, "x", "(D,)", dtype="float", sizes={"D": D})
    check_tensor(h_prev, "h_prev", "(H,)", dtype="float", sizes={"H": H})
    check_tensor(c_prev, "c_prev", "(H,)", dtype="float", sizes={"H": H})
    i, f, g, o = (v[0] for v in lstm_gates(x[None], h_prev[None], W_ih, W_hh, b_ih, b_hh))
    c = f * c_prev + i * g
    tc = torch.tanh(c)
    W_hi, W_hf, W_hg, W_ho = W_hh.split(H, dim=0)
    dc_dh = ((c_prev * f * (1 - f))[:, None] * W_hf + (g * i * (1 - i))[:, None] * W_hi
             + (i * (1 - g ** 2))[:, None] * W_hg)
    dc_dc = torch.diag(f)
    do = o * (1 - tc ** 2)
    dh_dh = (tc * o * (1 - o))[:, None] * W_ho + do[:, None] * dc_dh
    dh_dc = torch.diag(do * f)
    return torch.cat([torch.cat([dh_dh, dh_dc], dim=1), torch.cat([dc_dh, dc_dc], dim=1)], dim=0)


def state_jacobian_norms(layer: LSTMLayer, x) -> dict[str, np.ndarray]:
    """How far a change of the cell state reaches forward, for one sequence.

    Runs ``layer`` over ``x`` and returns, for every distance ``k``,

    * ``"cell"``: ``‖∂c_T/∂c_{T-k}‖₂``, the full derivative, through the cell
      path and through ``h`` (the product of :func:`lstm_step_jacobian`
      matrices, keeping the ``c``-to-``c`` block);
    * ``"forget"``: ``max_j ∏ f_{s,j}`` over the last ``k`` steps, the norm of
      the cell path alone, ``∏ diag(f_s)`` (eq-lstm-cell-path).

    Args:
        layer: an :class:`LSTMLayer`.
        x: one sequence, shape ``(T, D)``.

    Returns:
        A dict of two arrays of shape ``(T,)``; entry ``k`` has travelled
        ``k`` steps back, entry 0 is 1.

    Raises:
        ValueError: if ``x`` is not ``(T, D)`` with the layer's ``D`` and dtype.
    """
    if not isinstance(layer, LSTMLayer):
        raise ValueError(f"layer must be an LSTMLayer; got {type(layer).__name__}")
    params = [p.detach() for p in layer.params()]
    check_tensor(x, "x", "(T, D)", dtype="float", sizes={"D": layer.input_size})
    if not isinstance(x, torch.Tensor) or x.dtype != params[0].dtype:
        raise ValueError(f"x must be a torch tensor of dtype {params[0].dtype}")
    H, T = layer.hidden_size, x.shape[0]
    with torch.no_grad():
        out, _, gates = lstm_layer(x[None], *params, return_gates=True)
        hs, cs, fs = out[0], gates["c"][0], gates["f"][0]
        cell, forget = np.ones(T), np.ones(T)
        product = torch.eye(2 * H, dtype=x.dtype)
        path = torch.ones(H, dtype=x.dtype)
        for k in range(1, T):
            t = T - k  # the step that made state t (0-based) from state t-1
            product = product @ lstm_step_jacobian(x[t], hs[t - 1], cs[t - 1], *params)
            cell[k] = float(torch.linalg.matrix_norm(product[H:, H:], 2))
            path = path * fs[t]
            forget[k] = float(path.max())
    return {"cell": cell, "forget": forget}
