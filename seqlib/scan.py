"""minGRU and the parallel scan (chapter 6).

A GRU's gates read ``h_{t-1}``, so step ``t`` must wait for step ``t - 1``.
minGRU (Feng et al. 2024) lets the gate and the candidate read the input
only (eq-mingru-gates)::

    z_t = sigmoid(W_z x_t + b_z),   h~_t = g(W_h x_t + b_h)
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t                       (eq-mingru-state)

which is a *linear* recurrence ``h_t = a_t * h_{t-1} + b_t`` with ``a_t = 1 - z_t``
and ``b_t = z_t * h~_t`` known for every ``t`` before the recurrence starts.
Composing two steps gives a step of the same form,
``(a_1, b_1) then (a_2, b_2) = (a_1 a_2, a_2 b_1 + b_2)`` (eq-scan-combine), and that
operation is associative, so all ``T`` states come out of ``ceil(log2 T)`` rounds
of element-wise work over the whole sequence (a Hillis-Steele scan) instead
of ``T`` dependent steps.

Products of many ``a_t`` in (0, 1) underflow, so the scan runs in log space,
as the paper does: ``log a_t = logsigmoid(-k_t)``, ``log z_t = logsigmoid(k_t)``
for the gate's pre-activation ``k_t``, and ``g`` keeps the candidate
positive, ``g(u) = u + 0.5`` for ``u >= 0`` and ``sigmoid(u)`` below, so
``log b_t`` exists. Shapes are batch-first: ``x`` is ``(B, T, D)``, states
``(B, T, H)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_choice, check_positive, check_seed, check_tensor
from .longlag import LongLagModel, check_model_dtype

__all__ = ["g", "log_g", "linear_recurrence_loop", "log_space_scan", "MinGRU", "MinGRUModel"]


def g(u: torch.Tensor) -> torch.Tensor:
    """minGRU's positive activation: ``u + 0.5`` for ``u >= 0``, ``sigmoid(u)`` below (continuous at 0)."""
    return torch.where(u >= 0, u + 0.5, torch.sigmoid(u))


def log_g(u: torch.Tensor) -> torch.Tensor:
    """``log g(u)`` computed without forming small numbers: ``logsigmoid(u)`` below 0.

    (Not ``-softplus(-u)``: torch's softplus turns linear above 20 and drops
    ``log1p(exp(-u))``, an error of 2e-9 there.)
    """
    return torch.where(u >= 0, torch.log(F.relu(u) + 0.5), F.logsigmoid(u))


def _check_coeffs(a, b, h0, name_a: str, name_b: str):
    dims = check_tensor(a, name_a, "(B, T, H)", dtype="float")
    check_tensor(b, name_b, "(B, T, H)", dtype="float", sizes=dims)
    if h0 is not None:
        check_tensor(h0, "h0", "(B, H)", dtype="float", sizes={"B": dims["B"], "H": dims["H"]})
    return dims


def linear_recurrence_loop(a, b, h0=None) -> torch.Tensor:
    """``h_t = a_t * h_{t-1} + b_t`` one step after another (eq-mingru-state).

    Args:
        a, b: ``(B, T, H)`` float tensors; h0: ``(B, H)`` or None for zeros.

    Returns:
        all states ``(B, T, H)``.

    Raises:
        ValueError: on shapes or dtypes that disagree.
    """
    _check_coeffs(a, b, h0, "a", "b")
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    out = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


def log_space_scan(log_a, log_b, log_h0=None) -> torch.Tensor:
    """The same recurrence in log space by a parallel (Hillis-Steele) scan.

    Each round combines every position ``t`` with position ``t - s`` for
    ``s = 1, 2, 4, ...`` using eq-scan-combine in log space,
    ``(la_1, lb_1) then (la_2, lb_2) = (la_1 + la_2, logaddexp(la_2 + lb_1, lb_2))``,
    so after ``ceil(log2 T)`` rounds position ``t`` holds the composition of
    steps ``1..t``. Requires ``b_t > 0`` (and ``h_0 > 0``), which minGRU's
    ``g`` guarantees.

    Args:
        log_a, log_b: ``(B, T, H)`` logs of the coefficients.
        log_h0: ``(B, H)`` log of the initial state, or None for ``h_0 = 0``.

    Returns:
        ``log h_t`` for every step, ``(B, T, H)``.

    Raises:
        ValueError: on shapes or dtypes that disagree.
    """
    _check_coeffs(log_a, log_b, log_h0, "log_a", "log_b")
    la, lb = log_a, log_b
    T, s = la.shape[1], 1
    while s < T:   # ceil(log2 T) rounds, each one element-wise pass over all t
        la_prev = F.pad(la[:, :-s], (0, 0, s, 0))                       # identity: log 1 = 0
        lb_prev = F.pad(lb[:, :-s], (0, 0, s, 0), value=-math.inf)      # identity: log 0
        la, lb = la_prev + la, torch.logaddexp(la + lb_prev, lb)
        s *= 2
    if log_h0 is not None:   # h_t = A_t h_0 + B_t, with A_t, B_t the composed step
        lb = torch.logaddexp(la + log_h0[:, None], lb)
    return lb


class MinGRU(nn.Module):
    """A minGRU layer: two linear maps of the input, then a linear recurrence.

    Args:
        D: input size (> 0); H: state size (> 0); dtype: parameter dtype.

    Attributes:
        linear_z, linear_h: ``nn.Linear(D, H)`` for the gate and the candidate
            (eq-mingru-gates).
    """

    def __init__(self, D: int, H: int, dtype=torch.float32):
        super().__init__()
        check_positive(D, "D", integer=True)
        check_positive(H, "H", integer=True)
        self.D, self.H = D, H
        self.input_size, self.hidden_size = D, H   # torch.nn's names, as longlag reads them
        self.linear_z = nn.Linear(D, H, dtype=dtype)
        self.linear_h = nn.Linear(D, H, dtype=dtype)

    def forward(self, x: torch.Tensor, h0=None, mode: str = "scan") -> torch.Tensor:
        """All states ``(B, T, H)`` for inputs ``x`` of shape ``(B, T, D)``.

        Args:
            h0: ``(B, H)`` positive initial state, or None (zeros).
            mode: ``"scan"`` (log-space parallel scan) or ``"loop"`` (one step
                at a time); both compute eq-mingru-state.

        Raises:
            ValueError: on a bad shape, a non-positive ``h0`` in scan mode,
                or an unknown ``mode``.
        """
        check_tensor(x, "x", "(B, T, D)", dtype="float", sizes={"D": self.D})
        if mode not in ("scan", "loop"):
            raise ValueError(f"mode must be 'scan' or 'loop'; got {mode!r}")
        k, u = self.linear_z(x), self.linear_h(x)          # implements eq-mingru-gates
        if mode == "loop":
            z = torch.sigmoid(k)
            return linear_recurrence_loop(1 - z, z * g(u), h0)
        log_h0 = None
        if h0 is not None:
            check_tensor(h0, "h0", "(B, H)", dtype="float", sizes={"B": x.shape[0], "H": self.H})
            if not bool((h0 > 0).all()):
                raise ValueError("h0 must be positive in scan mode (its log is taken)")
            log_h0 = torch.log(h0)
        log_a, log_z = F.logsigmoid(-k), F.logsigmoid(k)   # log(1 - z), log z
        return torch.exp(log_space_scan(log_a, log_z + log_g(u), log_h0))


class MinGRUModel(LongLagModel):
    """A minGRU layer read out at its last state: ``y = W_hy h_T + b_y``.

    Chapter 4's :class:`seqlib.longlag.LongLagModel` with a :class:`MinGRU`
    in place of the torch.nn layer, so :func:`seqlib.longlag.train` trains it
    on the same batches and test set as the RNN, LSTM and GRU (chapter 6).

    Args:
        hidden_size: ``H`` (> 0); input_size: ``D`` (> 0); output_size: ``O`` (> 0).
        mode: ``"scan"`` or ``"loop"``, how :class:`MinGRU` computes the
            states (the same function, eq-mingru-state).
        seed: initialisation seed (>= 0); the weights are drawn under their
            own torch generator, as in :func:`seqlib.longlag.make_model`.
        dtype: ``None`` (float32) or ``torch.float64``.

    Attributes:
        cell: ``"mingru"``; recurrent: the :class:`MinGRU`;
        readout: ``torch.nn.Linear(H, O)``; mode: as above (may be changed).

    Raises:
        ValueError: for non-positive sizes, an unknown mode, a negative seed
            or another dtype.
    """

    def __init__(self, hidden_size: int = 32, input_size: int = 2, output_size: int = 1,
                 mode: str = "scan", seed: int = 0, dtype: torch.dtype | None = None):
        # LongLagModel.__init__ builds a torch.nn layer; this model holds a
        # MinGRU instead, so it starts from nn.Module and sets the same attributes.
        nn.Module.__init__(self)
        for name, value in (("hidden_size", hidden_size), ("input_size", input_size),
                            ("output_size", output_size)):
            check_positive(value, name, integer=True)
        check_choice(mode, "mode", ("scan", "loop"))
        check_seed(seed)
        check_model_dtype(dtype)
        self.cell, self.mode = "mingru", mode
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.recurrent = MinGRU(input_size, hidden_size, dtype=dtype or torch.float32)
            self.readout = nn.Linear(hidden_size, output_size, dtype=dtype)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """One prediction per sequence: shape ``(B,)`` when ``O`` is 1, else ``(B, O)``.

        Args:
            X: inputs, shape ``(B, T, D)``.

        Raises:
            ValueError: if ``X`` is not a float tensor of shape ``(B, T, D)``.
        """
        check_tensor(X, "X", "(B, T, D)", dtype="float", sizes={"D": self.recurrent.D})
        y = self.readout(self.recurrent(X, mode=self.mode)[:, -1])
        return y.squeeze(-1) if y.shape[-1] == 1 else y
