"""Normalization layers and residual blocks (chapter 7).

BatchNorm standardizes each feature over the batch (eq-norm-bn); LayerNorm
standardizes each token's feature vector on its own (eq-norm-ln-stats,
eq-norm-ln), and its gradient has a closed form (eq-norm-ln-grad); RMSNorm
only rescales by the root mean square (eq-norm-rms). A residual block puts
the norm after the sum (post-norm, eq-norm-post) or inside the branch
(pre-norm, eq-norm-pre); stacks of either show how gradients are spread over
depth at initialization, and a small training loop with linear learning-rate
warm-up (eq-norm-warmup) shows which of the two needs it.

Arrays are torch tensors (NumPy arrays are converted). A normalization acts
on the last axis, so ``x`` may be ``(H,)``, ``(B, H)`` or ``(B, T, H)``:
written ``(..., H)`` below. Parameters are stored as ``torch.nn`` stores
them (``weight`` for the gain gamma, ``bias`` for the shift beta), so
``load_state_dict`` copies them between our modules and torch's.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ._checks import check_choice, check_positive, check_seed, check_tensor
from .gradients import grad_norms
from .train import fit

__all__ = [
    "batch_norm", "layer_norm", "layer_norm_backward", "rms_norm",
    "LayerNorm", "RMSNorm", "FeedForward", "PostNormBlock", "PreNormBlock",
    "make_stack", "block_grad_norms", "stream_rms", "count_ops",
    "warmup_lr", "train_classifier",
]


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------

def _features(x, name: str = "x", H: int | None = None):
    """Validate a float array of shape (..., H); return it as a tensor and H."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be an array of shape (..., H); got {type(x).__name__}")
    shape = tuple(x.shape)
    if x.ndim == 0:
        raise ValueError(f"{name} must have shape (..., H) (rank >= 1); got shape {shape}")
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} must be non-empty with shape (..., H); got shape {shape}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point array; got dtype {x.dtype}")
    if H is not None and shape[-1] != H:
        raise ValueError(f"{name} must have H = {H} in shape (..., H); got shape {shape}")
    return x, shape[-1]


def _vector(v, name: str, size: int, dim: str = "H"):
    """Validate an optional gain or shift of shape (dim,); return it as a tensor."""
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        v = torch.from_numpy(v)
    check_tensor(v, name, f"({dim},)", dtype="float", sizes={dim: size})
    return v


# ---------------------------------------------------------------------------
# Functional forms
# ---------------------------------------------------------------------------

def batch_norm(x, gamma=None, beta=None, eps: float = 1e-5) -> torch.Tensor:
    """Batch normalization in training mode (eq-norm-bn).

    Each feature ``d`` is standardized with the mean and (biased) variance of
    ``x[:, :, d]`` over the whole batch, all ``B * T`` positions together:
    that is what ``torch.nn.BatchNorm1d(D)`` computes in training mode on
    ``x.transpose(1, 2)``. One token's output therefore depends on every
    other sequence in the batch, and on padding.

    Args:
        x: inputs, shape ``(B, T, D)``, floating point.
        gamma: optional gain, shape ``(D,)`` (ones if None).
        beta: optional shift, shape ``(D,)`` (zeros if None).
        eps: added to the variance before the square root (> 0).

    Returns:
        Tensor of shape ``(B, T, D)``.

    Raises:
        ValueError: if ``x`` is not a non-empty float ``(B, T, D)`` array,
            ``gamma``/``beta`` are not ``(D,)``, or ``eps`` <= 0.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    D = check_tensor(x, "x", "(B, T, D)", dtype="float")["D"]
    check_positive(eps, "eps")
    gamma, beta = _vector(gamma, "gamma", D, "D"), _vector(beta, "beta", D, "D")
    mu = x.mean(dim=(0, 1), keepdim=True)                    # (1, 1, D)
    var = ((x - mu) ** 2).mean(dim=(0, 1), keepdim=True)     # biased, as torch uses
    y = (x - mu) / torch.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def layer_norm(x, gamma=None, beta=None, eps: float = 1e-5) -> torch.Tensor:
    """Layer normalization over the last axis (eq-norm-ln-stats, eq-norm-ln).

    ``y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta``, where ``mu`` and
    ``sigma^2`` are the mean and the biased variance of the ``H`` features of
    each vector. Equals ``torch.nn.functional.layer_norm(x, (H,), gamma,
    beta, eps)``.

    Args:
        x: inputs, shape ``(..., H)``, floating point.
        gamma: optional gain, shape ``(H,)`` (ones if None).
        beta: optional shift, shape ``(H,)`` (zeros if None).
        eps: added to the variance before the square root (> 0).

    Returns:
        Tensor of the same shape as ``x``.

    Raises:
        ValueError: if ``x`` is empty, rank 0 or not floating point,
            ``gamma``/``beta`` are not ``(H,)``, or ``eps`` <= 0.
    """
    x, H = _features(x)
    check_positive(eps, "eps")
    gamma, beta = _vector(gamma, "gamma", H), _vector(beta, "beta", H)
    mu = x.mean(dim=-1, keepdim=True)                        # (eq-norm-ln-stats)
    centred = x - mu
    var = (centred * centred).mean(dim=-1, keepdim=True)
    y = centred / torch.sqrt(var + eps)                      # (eq-norm-ln)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def layer_norm_backward(dy, x, gamma=None, eps: float = 1e-5):
    """Hand-written gradient of :func:`layer_norm` (eq-norm-ln-grad).

    With ``x_hat = (x - mu) / s``, ``s = sqrt(sigma^2 + eps)`` and
    ``g = dy * gamma``, the gradient with respect to one vector ``x`` is
    ``dx = (g - mean(g) - x_hat * mean(g * x_hat)) / s``: the upstream
    gradient, with its mean and its component along ``x_hat`` removed,
    divided by the vector's spread ``s``.

    Args:
        dy: gradient of the loss with respect to the output, shape ``(..., H)``.
        x: the input of the forward pass, same shape as ``dy``.
        gamma: the gain used in the forward pass, shape ``(H,)`` (ones if None).
        eps: the ``eps`` of the forward pass (> 0).

    Returns:
        ``(dx, dgamma, dbeta)`` of shapes ``(..., H)``, ``(H,)``, ``(H,)``.

    Raises:
        ValueError: if the shapes disagree, an array is not floating point,
            or ``eps`` <= 0.
    """
    x, H = _features(x)
    dy, _ = _features(dy, "dy", H)
    if dy.shape != x.shape:
        raise ValueError(f"dy must have the shape of x, {tuple(x.shape)}; got {tuple(dy.shape)}")
    check_positive(eps, "eps")
    gamma = _vector(gamma, "gamma", H)
    mu = x.mean(dim=-1, keepdim=True)
    s = torch.sqrt(((x - mu) ** 2).mean(dim=-1, keepdim=True) + eps)
    x_hat = (x - mu) / s
    g = dy if gamma is None else dy * gamma
    dx = (g - g.mean(dim=-1, keepdim=True)
          - x_hat * (g * x_hat).mean(dim=-1, keepdim=True)) / s
    lead = tuple(range(x.ndim - 1))
    dgamma = (dy * x_hat).sum(dim=lead) if lead else dy * x_hat
    dbeta = dy.sum(dim=lead) if lead else dy.clone()
    return dx, dgamma, dbeta


def rms_norm(x, gamma=None, eps: float = 1e-6) -> torch.Tensor:
    """Root-mean-square normalization over the last axis (eq-norm-rms).

    ``y = gamma * x / sqrt(mean(x^2) + eps)``: no mean is subtracted and
    there is no shift. Equals ``torch.nn.functional.rms_norm(x, (H,), gamma,
    eps)`` (pass ``eps`` explicitly to torch: its default depends on the
    dtype).

    Args:
        x: inputs, shape ``(..., H)``, floating point.
        gamma: optional gain, shape ``(H,)`` (ones if None).
        eps: added to the mean square before the square root (> 0).

    Returns:
        Tensor of the same shape as ``x``.

    Raises:
        ValueError: if ``x`` is empty, rank 0 or not floating point,
            ``gamma`` is not ``(H,)``, or ``eps`` <= 0.
    """
    x, H = _features(x)
    check_positive(eps, "eps")
    gamma = _vector(gamma, "gamma", H)
    mean_square = (x * x).mean(dim=-1, keepdim=True)
    y = x / torch.sqrt(mean_square + eps)                    # (eq-norm-rms)
    if gamma is not None:
        y = y * gamma
    return y


# ---------------------------------------------------------------------------
# Modules with torch.nn's parameter names
# ---------------------------------------------------------------------------

class LayerNorm(nn.Module):
    """LayerNorm over the last axis, with learned gain and shift (eq-norm-ln).

    Parameters ``weight`` (gamma, ones) and ``bias`` (beta, zeros), shape
    ``(H,)``, named as in ``torch.nn.LayerNorm(H)``.

    Args:
        H: number of features (> 0).
        eps: added to the variance (> 0).

    Raises:
        ValueError: if ``H`` is not a positive int or ``eps`` <= 0.
    """

    def __init__(self, H: int, eps: float = 1e-5):
        super().__init__()
        check_positive(H, "H", integer=True)
        check_positive(eps, "eps")
        self.H, self.eps = H, eps
        self.weight = nn.Parameter(torch.ones(H))
        self.bias = nn.Parameter(torch.zeros(H))

    def forward(self, x):
        """``x``: ``(..., H)``; returns the same shape."""
        _features(x, "x", self.H)
        return layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.H}, eps={self.eps}"


class RMSNorm(nn.Module):
    """RMSNorm over the last axis, with a learned gain (eq-norm-rms).

    Parameter ``weight`` (gamma, ones), shape ``(H,)``, named as in
    ``torch.nn.RMSNorm(H)``.

    Args:
        H: number of features (> 0).
        eps: added to the mean square (> 0).

    Raises:
        ValueError: if ``H`` is not a positive int or ``eps`` <= 0.
    """

    def __init__(self, H: int, eps: float = 1e-6):
        super().__init__()
        check_positive(H, "H", integer=True)
        check_positive(eps, "eps")
        self.H, self.eps = H, eps
        self.weight = nn.Parameter(torch.ones(H))

    def forward(self, x):
        """``x``: ``(..., H)``; returns the same shape."""
        _features(x, "x", self.H)
        return rms_norm(x, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.H}, eps={self.eps}"


_NORMS = {"layer": LayerNorm, "rms": RMSNorm}


def _make_norm(norm: str, H: int, impl: str) -> nn.Module:
    """A normalization module: ours (``impl="seqlib"``) or torch's fused twin."""
    check_choice(norm, "norm", _NORMS)
    check_choice(impl, "impl", {"seqlib", "torch"})
    if impl == "seqlib":
        return _NORMS[norm](H)
    check_positive(H, "H", integer=True)
    return nn.LayerNorm(H, eps=1e-5) if norm == "layer" else nn.RMSNorm(H, eps=1e-6)


class FeedForward(nn.Module):
    """The branch ``F(x) = W_2 GELU(W_1 x + b_1) + b_2`` of a residual block.

    A Transformer's feed-forward sub-layer: the only branch of this module's
    blocks, and the second sub-layer, after attention, of
    :class:`seqlib.transformer.TransformerBlock`. Weights are Xavier-normal
    and biases zero, a common initialization for Transformers.

    Args:
        H: model width (> 0); input and output are ``(..., H)``.
        d_ff: hidden width (> 0), e.g. ``4 * H``.

    Raises:
        ValueError: if ``H`` or ``d_ff`` is not a positive int.
    """

    def __init__(self, H: int, d_ff: int):
        super().__init__()
        check_positive(H, "H", integer=True)
        check_positive(d_ff, "d_ff", integer=True)
        self.fc1, self.fc2 = nn.Linear(H, d_ff), nn.Linear(d_ff, H)
        for fc in (self.fc1, self.fc2):
            nn.init.xavier_normal_(fc.weight)
            nn.init.zeros_(fc.bias)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class _ResidualBlock(nn.Module):
    """A normalization and a feed-forward branch; subclasses arrange them.

    Args:
        H: model width (> 0).
        d_ff: hidden width of the feed-forward branch (> 0).
        norm: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm).
        impl: ``"seqlib"`` (this module's from-scratch norms) or ``"torch"``
            (``torch.nn.LayerNorm``/``RMSNorm``: the same function in one
            fused kernel, faster for training runs).

    Raises:
        ValueError: on a bad size or an unknown ``norm`` or ``impl``.
    """

    def __init__(self, H: int, d_ff: int, norm: str = "layer", impl: str = "seqlib"):
        super().__init__()
        self.norm = _make_norm(norm, H, impl)
        self.ff = FeedForward(H, d_ff)


class PostNormBlock(_ResidualBlock):
    """Post-norm residual block ``y = Norm(x + F(x))`` (eq-norm-post).

    The original Transformer's arrangement: the sum of the skip path and the
    branch is normalized, so every block's output has unit scale.

    Arguments as for :class:`_ResidualBlock`.
    """

    def forward(self, x):
        """``x``: ``(..., H)``; returns the same shape."""
        return self.norm(x + self.ff(x))


class PreNormBlock(_ResidualBlock):
    """Pre-norm residual block ``y = x + F(Norm(x))`` (eq-norm-pre).

    The branch sees a normalized copy of ``x``; the skip path carries ``x``
    itself, untouched, from the first block to the last.

    Arguments as for :class:`_ResidualBlock`.
    """

    def forward(self, x):
        """``x``: ``(..., H)``; returns the same shape."""
        return x + self.ff(self.norm(x))


def make_stack(kind: str, L: int, H: int, d_ff: int, norm: str = "layer",
               impl: str = "seqlib") -> nn.Sequential:
    """A stack of ``L`` residual blocks of one kind.

    A pre-norm stack ends with one more normalization, as pre-norm
    Transformers do (otherwise its output would be the raw, growing residual
    stream); a post-norm stack's output is already normalized.

    Args:
        kind: ``"post"`` or ``"pre"``.
        L: number of blocks (> 0).
        H: model width (> 0).
        d_ff: hidden width of each feed-forward branch (> 0).
        norm: ``"layer"`` or ``"rms"``.
        impl: ``"seqlib"`` or ``"torch"`` (see :class:`PreNormBlock`).

    Returns:
        An ``nn.Sequential`` mapping ``(..., H)`` to ``(..., H)``.

    Raises:
        ValueError: on an unknown ``kind``/``norm``/``impl`` or a bad size.
    """
    check_choice(kind, "kind", {"post", "pre"})
    check_choice(norm, "norm", _NORMS)
    check_choice(impl, "impl", {"seqlib", "torch"})
    check_positive(L, "L", integer=True)
    block = PostNormBlock if kind == "post" else PreNormBlock
    layers = [block(H, d_ff, norm, impl) for _ in range(L)]
    if kind == "pre":
        layers.append(_make_norm(norm, H, impl))
    return nn.Sequential(*layers)


def _blocks(stack):
    blocks = [m for m in stack.modules() if isinstance(m, (PostNormBlock, PreNormBlock))]
    if not blocks:
        raise ValueError("stack must contain PostNormBlock or PreNormBlock modules; found none")
    return blocks


def block_grad_norms(stack) -> list[float]:
    """Gradient norm of each block's feed-forward weights, first block first.

    For block ``l`` this is ``sqrt(||dL/dW_1||^2 + ||dL/dW_2||^2)`` over the
    two weight matrices of its branch (biases left out), computed with
    :func:`seqlib.gradients.grad_norms`. Call ``loss.backward()`` first.

    Args:
        stack: a module holding ``PostNormBlock``/``PreNormBlock`` blocks,
            e.g. from :func:`make_stack`.

    Returns:
        A list of ``L`` floats.

    Raises:
        ValueError: if there are no blocks or a weight has no gradient.
    """
    out = []
    for b in _blocks(stack):
        g1, g2 = grad_norms([b.ff.fc1.weight, b.ff.fc2.weight])
        out.append(math.sqrt(g1 ** 2 + g2 ** 2))
    return out


@torch.no_grad()
def stream_rms(stack, x) -> list[float]:
    """Root mean square of the residual stream entering each block, and leaving the last.

    Args:
        stack: a module from :func:`make_stack`.
        x: inputs, shape ``(..., H)``.

    Returns:
        ``L + 1`` floats: ``rms(x_0), rms(x_1), ..., rms(x_L)`` where
        ``x_l`` is the output of block ``l`` (before any final norm).

    Raises:
        ValueError: if ``x`` is not a float ``(..., H)`` array or the stack
            holds no blocks.
    """
    blocks = _blocks(stack)
    x, _ = _features(x)
    out = [float(x.pow(2).mean().sqrt())]
    for b in blocks:
        x = b(x)
        out.append(float(x.pow(2).mean().sqrt()))
    return out


# ---------------------------------------------------------------------------
# Counting the work a function does
# ---------------------------------------------------------------------------

_OP_NAMES = {
    "mean": "mean", "sum": "sum", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "__add__": "add", "__radd__": "add", "add": "add",
    "__sub__": "subtract", "__rsub__": "subtract", "sub": "subtract",
    "__mul__": "multiply", "__rmul__": "multiply", "mul": "multiply",
    "__truediv__": "divide", "div": "divide", "__pow__": "power", "pow": "power",
}


class _OpLog(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in _OP_NAMES and isinstance(out, torch.Tensor):
            sizes = [a.numel() for a in args if isinstance(a, torch.Tensor)] + [out.numel()]
            self.ops.append((_OP_NAMES[name], max(sizes)))
        return out


def count_ops(fn, *args, **kwargs) -> list[tuple[str, int]]:
    """Arithmetic operations a torch function executes, and the elements each touches.

    Runs ``fn(*args, **kwargs)`` under a ``torch.overrides.TorchFunctionMode``
    that logs every arithmetic call (add, subtract, multiply, divide, power,
    sqrt, mean, sum). An element-wise op is charged the number of elements
    it writes, a reduction the number it reads: a deterministic proxy for
    work, independent of the machine.

    Args:
        fn: a function built from torch operations, e.g. :func:`layer_norm`.
        *args, **kwargs: its arguments.

    Returns:
        A list of ``(op name, elements)`` pairs in the order executed.

    Raises:
        ValueError: if ``fn`` is not callable.
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable; got {type(fn).__name__}")
    log = _OpLog()
    with log:
        fn(*args, **kwargs)
    return log.ops


# ---------------------------------------------------------------------------
# Training with warm-up
# ---------------------------------------------------------------------------

def warmup_lr(step: int, base_lr: float, warmup_steps: int) -> float:
    """Linear learning-rate warm-up (eq-norm-warmup).

    ``lr(step) = base_lr * min(1, (step + 1) / warmup_steps)`` for steps
    counted from 0; ``warmup_steps = 0`` means no warm-up.

    Raises:
        ValueError: if ``step`` or ``warmup_steps`` is a negative int, or
            ``base_lr`` <= 0.
    """
    check_positive(step, "step", integer=True, allow_zero=True)
    check_positive(base_lr, "base_lr")
    check_positive(warmup_steps, "warmup_steps", integer=True, allow_zero=True)
    if warmup_steps == 0:
        return float(base_lr)
    return float(base_lr) * min(1.0, (step + 1) / warmup_steps)


def train_classifier(model, X, y, lr: float, steps: int, batch_size: int = 64,
                     warmup_steps: int = 0, seed: int = 0) -> list[float]:
    """Train ``model`` with Adam and linear warm-up; return the loss of every step.

    Minibatches of ``batch_size`` rows are drawn from ``(X, y)`` with a
    generator seeded by ``seed``; the loss is cross-entropy.

    Args:
        model: maps ``(N, D)`` to class scores ``(N, C)``.
        X: inputs, shape ``(N, D)``, floating point.
        y: class ids, shape ``(N,)``, integers in ``[0, C)``.
        lr: peak learning rate (> 0).
        steps: number of Adam steps (> 0).
        batch_size: rows per step (> 0).
        warmup_steps: steps of linear warm-up (>= 0), see :func:`warmup_lr`.
        seed: seed of the minibatch sampler.

    Returns:
        A list of ``steps`` floats (the training loss before each update),
        shorter if the run diverged (training stops at the first non-finite
        loss or gradient; see :func:`seqlib.train.fit`, which runs the loop).

    Raises:
        ValueError: on bad shapes, sizes or hyper-parameters.
    """
    N = check_tensor(X, "X", "(N, D)", dtype="float")["N"]
    check_tensor(y, "y", "(N,)", dtype="int", sizes={"N": N})
    check_positive(steps, "steps", integer=True)
    check_positive(batch_size, "batch_size", integer=True)
    check_positive(lr, "lr")
    warmup_lr(0, lr, warmup_steps)  # validates warmup_steps
    check_seed(seed)
    with torch.no_grad():  # one row through the model: its input width and class count
        try:
            scores = model(X[:1])
        except RuntimeError as err:
            raise ValueError(f"X must have the width D the model reads; got shape "
                             f"{tuple(X.shape)} ({err})") from None
    if scores.ndim != 2 or scores.shape[0] != 1:
        raise ValueError(f"model must map (N, D) to scores (N, C); got {tuple(scores.shape)} "
                         f"for one row")
    C = scores.shape[1]
    if int(y.min()) < 0 or int(y.max()) >= C:
        raise ValueError(f"y must hold class ids in [0, {C}) for a model with C = {C} "
                         f"outputs; got values from {int(y.min())} to {int(y.max())}")
    gen = torch.Generator().manual_seed(seed)

    def minibatches():
        while True:
            yield torch.randint(0, N, (batch_size,), generator=gen)

    run = fit(model, minibatches(), lambda idx: F.cross_entropy(model(X[idx]), y[idx]),
              steps=steps, optimizer=torch.optim.Adam(model.parameters(), lr=lr, fused=True),
              lr_at=lambda step: warmup_lr(step, lr, warmup_steps))
    return run.train_loss
