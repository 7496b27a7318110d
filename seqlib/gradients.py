"""Gradient tools: finite differences, differences between arrays, Jacobian products.

Used to check every hand-written backward pass in the book and to measure how
gradients shrink or grow as they travel back through time or depth.
"""
from __future__ import annotations

import numpy as np
import torch

from ._checks import check_positive, check_tensor


def max_abs_diff(a, b) -> float:
    """Largest absolute element-wise difference of two arrays of equal shape.

    Args:
        a, b: NumPy arrays or torch tensors of the same shape.

    Raises:
        ValueError: if the shapes differ.
    """
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("a and b must be non-empty")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def numerical_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of a scalar function.

    ``df/dx[i] ≈ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, one pair of
    calls per element, so use it on small arrays only. ``x`` is perturbed in
    place and restored.

    Args:
        f: a function of no arguments returning a float; it must read ``x``.
        x: a float64 NumPy array of any shape (the parameter to perturb).
        eps: step size (> 0); 1e-6 balances truncation and round-off in float64.

    Returns:
        An array of the same shape as ``x``.

    Raises:
        ValueError: if ``x`` is not a non-empty float64 array or ``eps`` <= 0.
    """
    check_positive(eps, "eps")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64 or x.size == 0:
        raise ValueError("x must be a non-empty float64 NumPy array "
                         f"(finite differences need double precision); got {getattr(x, 'dtype', type(x))}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def tanh_rnn_jacobian_norms(h, W_hh) -> np.ndarray:
    """Spectral norms of ∂h_T/∂h_t for every t, for a tanh RNN.

    With ``h_t = tanh(W_hh h_{t-1} + ...)``, one step back multiplies by
    ``J_t = diag(1 - h_t²) W_hh``, so
    ``∂h_T/∂h_t = J_T J_{T-1} ... J_{t+1}`` (eq-vanish-product).

    Args:
        h: hidden states of one sequence, shape ``(T, H)`` (``h[t]`` is the
            state after step t+1 in the book's 1-based count).
        W_hh: recurrent weights, shape ``(H, H)``.

    Returns:
        Array of shape ``(T,)``; entry ``k`` is ``‖∂h_T/∂h_{T-k}‖₂``, so entry 0
        is 1 (the identity) and entry ``k`` has travelled ``k`` steps back.

    Raises:
        ValueError: if the shapes are wrong or disagree.
    """
    h = np.asarray(h, dtype=np.float64)
    W_hh = np.asarray(W_hh, dtype=np.float64)
    H = check_tensor(h, "h", "(T, H)", dtype="float")["H"]
    check_tensor(W_hh, "W_hh", "(H, H2)", dtype="float", sizes={"H": H, "H2": H})
    T = h.shape[0]
    norms = np.empty(T)
    product = np.eye(H)
    norms[0] = 1.0
    for k in range(1, T):
        t = T - k  # one more Jacobian, of the step that produced h[t]
        product = product @ (np.diag(1.0 - h[t] ** 2) @ W_hh)
        norms[k] = np.linalg.norm(product, 2)
    return norms


def grad_norms(params) -> list[float]:
    """Euclidean norm of the ``.grad`` of each parameter, in order.

    Args:
        params: an iterable of torch tensors with gradients, e.g. one tensor
            per layer.

    Raises:
        ValueError: if the iterable is empty or a tensor has no gradient.
    """
    out = []
    for i, p in enumerate(params):
        if p.grad is None:
            raise ValueError(f"parameter {i} has no gradient; call backward() first")
        out.append(float(p.grad.norm()))
    if not out:
        raise ValueError("params must hold at least one tensor")
    return out


def tanh_rnn_grad_terms(h, W_hh, delta_T, h0=None) -> np.ndarray:
    """The terms of ∂L/∂W_hh, one per time step, for a tanh RNN whose loss reads h_T only.

    BPTT sends ``δ_T = ∂L/∂h_T`` back one step at a time,
    ``δ_{t-1} = J_t^T δ_t`` with ``J_t = diag(1 - h_t²) W_hh``
    (eq-vanish-jacobian), and the step that made ``h_t`` contributes
    ``diag(1 - h_t²) δ_t h_{t-1}^T`` to the gradient of the shared ``W_hh``
    (eq-vanish-bptt-sum). Summed over the steps these terms are ``∂L/∂W_hh``;
    each term is summed over the batch, because the loss of a batch is one
    number. Computed in float64.

    Args:
        h: hidden states ``h_1 .. h_T`` of a batch, shape ``(B, T, H)``
            (batch-first, as ``torch.nn.RNN(..., batch_first=True)`` returns them).
        W_hh: recurrent weights, shape ``(H, H)``.
        delta_T: ``∂L/∂h_T``, shape ``(B, H)``.
        h0: initial states, shape ``(B, H)``; zeros if ``None`` (torch's default).

    Returns:
        Array of shape ``(T, H, H)``; entry ``k`` is the term of step ``T - k``,
        so entry 0 is the last step's and entry ``k`` has travelled ``k`` steps
        back (the order of :func:`tanh_rnn_jacobian_norms`).

    Raises:
        ValueError: if an argument is not a float array of the stated shape,
            or the shapes disagree.
    """
    sizes = check_tensor(h, "h", "(B, T, H)", dtype="float")
    B, T, H = sizes["B"], sizes["T"], sizes["H"]
    check_tensor(W_hh, "W_hh", "(H, H2)", dtype="float", sizes={"H": H, "H2": H})
    check_tensor(delta_T, "delta_T", "(B, H)", dtype="float", sizes={"B": B, "H": H})
    if h0 is not None:
        check_tensor(h0, "h0", "(B, H)", dtype="float", sizes={"B": B, "H": H})
    as64 = lambda a: (a.detach().cpu().numpy() if isinstance(a, torch.Tensor)
                      else np.asarray(a)).astype(np.float64)
    h, W_hh, delta = as64(h), as64(W_hh), as64(delta_T)
    h_prev = np.zeros((B, H)) if h0 is None else as64(h0)
    terms = np.empty((T, H, H))
    for k in range(T):
        t = T - 1 - k                            # 0-based index of the step
        da = (1.0 - h[:, t] ** 2) * delta        # ∂L/∂a_t, shape (B, H)
        before = h[:, t - 1] if t > 0 else h_prev
        terms[k] = da.T @ before                 # Σ_b diag(1 - h_t²) δ_t h_{t-1}^T
        delta = da @ W_hh                        # δ_{t-1} = J_t^T δ_t, row form
    return terms
