"""The vanilla (Elman) RNN, forward and backward, by hand (chapters 2 and 3).

Equations, in the book's notation (column vectors; code runs on batches whose
rows are examples, so ``W @ h`` becomes ``h @ W.T``)::

    h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)        (eq-rnn-state)
    y_t = W_hy h_t + b_y                              (eq-rnn-output)
    L   = mean over b, t of cross-entropy(y_t, k_t)   (eq-rnn-loss)

Backpropagation through time (eq-bptt-dh, eq-bptt-da, eq-bptt-sums) walks the
unrolled graph from the last step to the first. The weights are shared by all
steps, so each weight's gradient is the SUM of its per-step contributions.

What is here:

* ``init_rnn_params``: NumPy parameters with torch.nn.RNN's initialization.
* ``rnn_forward`` / ``rnn_backward``: batched NumPy forward pass and its
  hand-written BPTT backward pass, optionally truncated every ``k`` steps.
* ``cross_entropy``: the mean cross-entropy of logits and its gradient.
* ``ScratchRNN``: the same recurrence as a ``torch.nn.Module`` (any float
  dtype; autograd does the backward pass).
* ``torch_rnn_from`` / ``params_from_torch``: copy weights to and from
  ``torch.nn.RNN``, which keeps TWO bias vectors (``bias_ih_l0`` and
  ``bias_hh_l0``); they always appear as a sum, ``b_h = b_ih + b_hh``.

Shapes: ``X`` is ``(B, T, D)``, states ``(B, T, H)``, outputs ``(B, T, O)``;
``W_xh`` is ``(H, D)``, ``W_hh`` is ``(H, H)``, ``W_hy`` is ``(O, H)`` (the
shapes torch.nn stores).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._checks import check_ids, check_positive, check_seed, check_tensor

__all__ = [
    "PARAM_NAMES", "init_rnn_params", "rnn_forward", "rnn_backward", "cross_entropy",
    "ScratchRNN", "torch_rnn_from", "params_from_torch",
]

#: The parameters of ``rnn_forward``, in its argument order.
PARAM_NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

def init_rnn_params(D: int, H: int, O: int, seed: int = 0,
                    dtype=np.float64) -> dict[str, np.ndarray]:
    """Random RNN parameters, drawn as torch.nn.RNN and torch.nn.Linear draw them.

    Every entry is uniform on ``[-1/sqrt(H), 1/sqrt(H)]`` (the fan-in of the
    output layer is also ``H``), from ``numpy.random.default_rng(seed)``.

    Args:
        D: input size (> 0).
        H: hidden size (> 0).
        O: output size (> 0).
        seed: random seed (>= 0).
        dtype: a NumPy floating dtype.

    Returns:
        A dict with ``W_xh (H, D)``, ``W_hh (H, H)``, ``b_h (H,)``,
        ``W_hy (O, H)``, ``b_y (O,)``.

    Raises:
        ValueError: if a size is not a positive int, ``seed`` < 0, or
            ``dtype`` is not a floating dtype.
    """
    for value, name in ((D, "D"), (H, "H"), (O, "O")):
        check_positive(value, name, integer=True)
    check_seed(seed)
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a NumPy floating dtype; got {dtype}")
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(H)
    shapes = {"W_xh": (H, D), "W_hh": (H, H), "b_h": (H,), "W_hy": (O, H), "b_y": (O,)}
    return {name: rng.uniform(-bound, bound, size=shape).astype(dtype)
            for name, shape in shapes.items()}


def _check_params(X, h0, W_xh, W_hh, b_h, W_hy, b_y):
    """Validate the arguments of rnn_forward; return B, T, D, H, O and h0."""
    arrays = {"X": X, "W_xh": W_xh, "W_hh": W_hh, "b_h": b_h, "W_hy": W_hy, "b_y": b_y}
    if h0 is not None:
        arrays["h0"] = h0
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{name} must be a NumPy array (rnn_forward is the NumPy "
                             f"version; use ScratchRNN for tensors); got {type(a).__name__}")
    B, T, D = check_tensor(X, "X", "(B, T, D)", dtype="float").values()
    H = check_tensor(W_xh, "W_xh", "(H, D)", dtype="float", sizes={"D": D})["H"]
    check_tensor(W_hh, "W_hh", "(H, H2)", dtype="float", sizes={"H": H, "H2": H})
    check_tensor(b_h, "b_h", "(H,)", dtype="float", sizes={"H": H})
    O = check_tensor(W_hy, "W_hy", "(O, H)", dtype="float", sizes={"H": H})["O"]
    check_tensor(b_y, "b_y", "(O,)", dtype="float", sizes={"O": O})
    if h0 is None:
        h0 = np.zeros((B, H), dtype=X.dtype)
    else:
        check_tensor(h0, "h0", "(B, H)", dtype="float", sizes={"B": B, "H": H})
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        raise ValueError("X, h0 and the weights must share one float dtype (mixing "
                         f"precisions hides round-off); got {dtypes}")
    return B, T, D, H, O, h0


# ---------------------------------------------------------------------------
# Forward and backward in NumPy
# ---------------------------------------------------------------------------

def rnn_forward(X, h0, W_xh, W_hh, b_h, W_hy, b_y):
    """Run a tanh RNN over a batch of sequences (eq-rnn-state, eq-rnn-output).

    For ``t = 1 .. T``: ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)`` and
    ``y_t = W_hy h_t + b_y``, computed for all ``B`` sequences at once as
    ``H_t = tanh(X_t @ W_xh.T + H_{t-1} @ W_hh.T + b_h)``.

    Args:
        X: inputs, NumPy float array ``(B, T, D)``.
        h0: initial state ``(B, H)``, or ``None`` for zeros.
        W_xh: ``(H, D)``; W_hh: ``(H, H)``; b_h: ``(H,)``;
        W_hy: ``(O, H)``; b_y: ``(O,)``. All the same float dtype as ``X``.

    Returns:
        ``(Y, Hs, cache)``: outputs ``Y`` of shape ``(B, T, O)``, hidden states
        ``Hs`` of shape ``(B, T, H)`` (``Hs[:, t]`` is the state after step
        ``t + 1`` in the book's 1-based count), and ``cache``, a dict holding
        what ``rnn_backward`` needs (inputs, ``h0``, states, weights).

    Raises:
        ValueError: if an argument is not a NumPy float array, has the wrong
            rank, an empty axis or a size that disagrees with the others, or
            if the dtypes differ.
    """
    B, T, D, H, O, h0 = _check_params(X, h0, W_xh, W_hh, b_h, W_hy, b_y)
    Hs = np.empty((B, T, H), dtype=X.dtype)
    h = h0
    for t in range(T):
        h = np.tanh(X[:, t] @ W_xh.T + h @ W_hh.T + b_h)  # eq-rnn-state
        Hs[:, t] = h
    Y = Hs @ W_hy.T + b_y  # eq-rnn-output, all steps at once
    cache = {"X": X, "h0": h0, "Hs": Hs, "W_xh": W_xh, "W_hh": W_hh, "b_h": b_h,
             "W_hy": W_hy, "b_y": b_y}
    return Y, Hs, cache


def rnn_backward(dY, cache, k: int | None = None) -> dict[str, np.ndarray]:
    """Backpropagation through time for ``rnn_forward`` (eq-bptt-dh, eq-bptt-da, eq-bptt-sums).

    Walking from ``t = T`` down to 1, with ``dh`` the gradient reaching
    ``h_t`` from the later steps::

        dL/dh_t = W_hy^T dL/dy_t + dh          (eq-bptt-dh)
        dL/da_t = (1 - h_t^2) * dL/dh_t        (eq-bptt-da)
        dh      = W_hh^T dL/da_t               (passed on to h_{t-1})

    and every shared weight collects the SUM over steps (eq-bptt-sums), e.g.
    ``dL/dW_hh = sum_t dL/da_t h_{t-1}^T``.

    Truncation: with ``k``, the gradient is not passed from ``h_t`` back to
    ``h_{t-1}`` at the steps ``t = k, 2k, 3k, ...`` (0-based index of the
    later step). This equals cutting the sequence into chunks of ``k`` steps
    and detaching the state between chunks, as truncated-BPTT training does.
    ``k = None`` (or ``k >= T``) is full BPTT.

    Args:
        dY: gradient of the loss with respect to the outputs, ``(B, T, O)``,
            same dtype as the forward pass.
        cache: the third value returned by ``rnn_forward``.
        k: truncation length (int >= 1) or ``None``.

    Returns:
        A dict of gradients with the shapes of the arguments of
        ``rnn_forward``: ``W_xh, W_hh, b_h, W_hy, b_y, h0, X``.

    Raises:
        ValueError: if ``cache`` is not a cache of ``rnn_forward``, ``dY``
            does not have the shape and dtype of the outputs, or ``k`` is not
            a positive int.
    """
    need = {"X", "h0", "Hs", "W_xh", "W_hh", "b_h", "W_hy", "b_y"}
    if not isinstance(cache, dict) or not need <= set(cache):
        raise ValueError("cache must be the dict returned by rnn_forward "
                         f"(keys {sorted(need)})")
    if k is not None:
        check_positive(k, "k", integer=True)
    X, h0, Hs = cache["X"], cache["h0"], cache["Hs"]
    W_xh, W_hh, W_hy = cache["W_xh"], cache["W_hh"], cache["W_hy"]
    B, T, H = Hs.shape
    O = W_hy.shape[0]
    if not isinstance(dY, np.ndarray):
        raise ValueError(f"dY must be a NumPy array of shape (B, T, O); got {type(dY).__name__}")
    check_tensor(dY, "dY", "(B, T, O)", dtype="float", sizes={"B": B, "T": T, "O": O})
    if dY.dtype != Hs.dtype:
        raise ValueError(f"dY must have the forward pass's dtype {Hs.dtype}; got {dY.dtype}")

    grads = {name: np.zeros_like(cache[name]) for name in PARAM_NAMES}
    grads["X"] = np.zeros_like(X)
    # Output layer: every step's y_t uses the same W_hy, so its gradient is a sum.
    grads["W_hy"] = np.einsum("bto,bth->oh", dY, Hs)
    grads["b_y"] = dY.sum(axis=(0, 1))
    dH_out = dY @ W_hy  # (B, T, H): what each y_t sends back to its own h_t
    dh_next = np.zeros((B, H), dtype=Hs.dtype)
    for t in range(T - 1, -1, -1):
        dh = dH_out[:, t] + dh_next  # eq-bptt-dh
        da = (1.0 - Hs[:, t] ** 2) * dh  # eq-bptt-da
        h_prev = Hs[:, t - 1] if t > 0 else h0
        grads["W_xh"] += da.T @ X[:, t]  # eq-bptt-sums: one term per step
        grads["W_hh"] += da.T @ h_prev
        grads["b_h"] += da.sum(axis=0)
        grads["X"][:, t] = da @ W_xh
        dh_next = da @ W_hh
        if k is not None and t > 0 and t % k == 0:
            dh_next = np.zeros_like(dh_next)  # truncation: h_{t-1} was detached
    grads["h0"] = dh_next
    return grads


def cross_entropy(Y, targets):
    """Mean cross-entropy of logits and integer targets, and its gradient (eq-rnn-loss).

    ``L = -(1 / (B T)) sum_{b,t} log softmax(y_{b,t})[k_{b,t}]``; its gradient
    is ``dL/dy_{b,t} = (softmax(y_{b,t}) - e_{k_{b,t}}) / (B T)``.

    Args:
        Y: logits, NumPy float array ``(B, T, O)``.
        targets: integer class ids ``(B, T)`` with values in ``[0, O)``.

    Returns:
        ``(loss, dY)``: a Python float and an array shaped like ``Y``.

    Raises:
        ValueError: if ``Y`` is not a float ``(B, T, O)`` array, or
            ``targets`` is not an integer ``(B, T)`` array with values in
            ``[0, O)``.
    """
    if not isinstance(Y, np.ndarray):
        raise ValueError(f"Y must be a NumPy array of shape (B, T, O); got {type(Y).__name__}")
    B, T, O = check_tensor(Y, "Y", "(B, T, O)", dtype="float").values()
    if not isinstance(targets, np.ndarray):
        raise ValueError(f"targets must be a NumPy integer array of shape (B, T); "
                         f"got {type(targets).__name__}")
    check_tensor(targets, "targets", "(B, T)", dtype="int", sizes={"B": B, "T": T})
    check_ids(targets, "targets", O)
    shifted = Y - Y.max(axis=-1, keepdims=True)  # log-sum-exp trick: no overflow
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    loss = float(-picked.mean())
    dY = np.exp(log_p)
    np.put_along_axis(dY, targets[..., None],
                      np.take_along_axis(dY, targets[..., None], axis=-1) - 1.0, axis=-1)
    return loss, dY / (B * T)


# ---------------------------------------------------------------------------
# The same recurrence in torch, and weight copies to and from torch.nn.RNN
# ---------------------------------------------------------------------------

class ScratchRNN(nn.Module):
    """A single-layer tanh RNN written out step by step (eq-rnn-state).

    The same computation as ``torch.nn.RNN(D, H, batch_first=True)``, with one
    bias ``b_h`` instead of torch's two. Autograd differentiates the loop, so
    this is BPTT done by the machine; ``rnn_backward`` is BPTT done by hand.

    Args:
        D: input size (> 0).
        H: hidden size (> 0).
        dtype: a torch floating dtype (``torch.float64`` for exact checks).

    Attributes:
        W_xh ``(H, D)``, W_hh ``(H, H)``, b_h ``(H,)``: parameters, drawn
        uniform on ``[-1/sqrt(H), 1/sqrt(H)]`` like torch.nn.RNN.

    Raises:
        ValueError: if ``D`` or ``H`` is not a positive int, or ``dtype`` is
            not floating point.
    """

    def __init__(self, D: int, H: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        check_positive(D, "D", integer=True)
        check_positive(H, "H", integer=True)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"dtype must be a torch floating dtype; got {dtype}")
        bound = 1.0 / H ** 0.5
        self.D, self.H = D, H
        self.W_xh = nn.Parameter(torch.empty(H, D, dtype=dtype).uniform_(-bound, bound))
        self.W_hh = nn.Parameter(torch.empty(H, H, dtype=dtype).uniform_(-bound, bound))
        self.b_h = nn.Parameter(torch.empty(H, dtype=dtype).uniform_(-bound, bound))

    def forward(self, X: torch.Tensor, h0: torch.Tensor | None = None):
        """Run the recurrence.

        Args:
            X: ``(B, T, D)`` tensor of the module's dtype.
            h0: ``(B, H)`` initial state, or ``None`` for zeros.

        Returns:
            ``(Hs, h_T)``: all states ``(B, T, H)`` and the last one ``(B, H)``
            (torch.nn.RNN returns the last one as ``(1, B, H)``).

        Raises:
            ValueError: on a wrong rank, size or dtype.
        """
        if not isinstance(X, torch.Tensor):
            raise ValueError(f"X must be a torch tensor of shape (B, T, D); got {type(X).__name__}")
        B = check_tensor(X, "X", "(B, T, D)", dtype="float", sizes={"D": self.D})["B"]
        if X.dtype != self.W_xh.dtype:
            raise ValueError(f"X must have the module's dtype {self.W_xh.dtype}; got {X.dtype}")
        if h0 is None:
            h0 = X.new_zeros(B, self.H)
        else:
            if not isinstance(h0, torch.Tensor):
                raise ValueError(f"h0 must be a torch tensor of shape (B, H); got {type(h0).__name__}")
            check_tensor(h0, "h0", "(B, H)", dtype="float", sizes={"B": B, "H": self.H})
            if h0.dtype != X.dtype:
                raise ValueError(f"h0 must have dtype {X.dtype}; got {h0.dtype}")
        h, states = h0, []
        for t in range(X.shape[1]):
            h = torch.tanh(X[:, t] @ self.W_xh.T + h @ self.W_hh.T + self.b_h)  # eq-rnn-state
            states.append(h)
        return torch.stack(states, dim=1), h


def _as_tensor(a, name: str, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(a, np.ndarray):
        a = torch.from_numpy(a)
    if not isinstance(a, torch.Tensor):
        raise ValueError(f"{name} must be a NumPy array or torch tensor; got {type(a).__name__}")
    return a.detach().to(dtype).clone()


def torch_rnn_from(W_xh, W_hh, b_h, dtype: torch.dtype = torch.float64) -> nn.RNN:
    """A ``torch.nn.RNN(D, H, batch_first=True)`` holding the given weights.

    torch.nn.RNN computes ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``: two
    biases that only ever appear as a sum. We put ``b_h`` into ``bias_ih_l0``
    and zeros into ``bias_hh_l0``; any split with the same sum is the same RNN.

    Args:
        W_xh: ``(H, D)``; W_hh: ``(H, H)``; b_h: ``(H,)``; NumPy arrays or
            tensors, floating point.
        dtype: dtype of the returned module.

    Raises:
        ValueError: if the shapes disagree or an argument is not a float array.
    """
    H, D = check_tensor(W_xh, "W_xh", "(H, D)", dtype="float").values()
    check_tensor(W_hh, "W_hh", "(H, H2)", dtype="float", sizes={"H": H, "H2": H})
    check_tensor(b_h, "b_h", "(H,)", dtype="float", sizes={"H": H})
    rnn = nn.RNN(D, H, batch_first=True, dtype=dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(_as_tensor(W_xh, "W_xh", dtype))
        rnn.weight_hh_l0.copy_(_as_tensor(W_hh, "W_hh", dtype))
        rnn.bias_ih_l0.copy_(_as_tensor(b_h, "b_h", dtype))
        rnn.bias_hh_l0.zero_()
    return rnn


def params_from_torch(rnn: nn.RNN) -> dict[str, np.ndarray]:
    """The weights of a one-layer tanh ``torch.nn.RNN`` in the book's names (float64 NumPy).

    Returns ``{"W_xh": weight_ih_l0, "W_hh": weight_hh_l0,
    "b_h": bias_ih_l0 + bias_hh_l0}``.

    Raises:
        ValueError: if ``rnn`` is not a single-layer, one-directional tanh
            ``torch.nn.RNN`` with biases.
    """
    if not isinstance(rnn, nn.RNN):
        raise ValueError(f"rnn must be a torch.nn.RNN; got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional or not rnn.bias or rnn.nonlinearity != "tanh":
        raise ValueError("rnn must be a single-layer, one-directional tanh torch.nn.RNN "
                         f"with biases; got {rnn}")

    def arr(t):
        return t.detach().cpu().to(torch.float64).numpy().copy()
    return {"W_xh": arr(rnn.weight_ih_l0), "W_hh": arr(rnn.weight_hh_l0),
            "b_h": arr(rnn.bias_ih_l0) + arr(rnn.bias_hh_l0)}
