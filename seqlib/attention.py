"""Causal self-attention from scratch (chapter 7).

Each position ``t`` of a sequence asks a question (its query ``q_t``), every
position ``s <= t`` offers an answer key ``k_s`` and a value ``v_s``; the output
at ``t`` is the average of the values weighted by how well each key matches
the query (eq-attn-scores, eq-attn-softmax)::

    A = softmax(Q K^T / sqrt(d) + M),   out = A V

where ``M`` is 0 on and below the diagonal and ``-inf`` above it, so no
position reads the future (the *causal* mask). Multi-head attention splits
the width ``H`` into ``n_heads`` heads of ``d = H / n_heads`` features, runs
the same formula in each, concatenates the heads and mixes them with an
output matrix (eq-attn-multihead).

Shapes are batch-first: ``x`` is ``(B, T, H)``. :class:`CausalSelfAttention`
stores its weights as ``torch.nn.MultiheadAttention`` does (one stacked
``in_proj_weight`` of shape ``(3H, H)`` for queries, keys and values, then
``out_proj``), so :meth:`CausalSelfAttention.from_torch` copies a torch module
without any reshaping.

QK-norm (Henry et al. 2020) normalizes each head's queries and keys before
their dot product, which bounds the attention logits (eq-attn-qknorm); ``qk_norm="rms"``
applies an RMSNorm over each head's ``d`` features (the variant open models
use today), ``"l2"`` the original unit-length normalization with a learned
scale ``g`` in place of ``1 / sqrt(d)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_choice, check_positive, check_tensor

__all__ = ["causal_mask", "scaled_dot_product_attention", "CausalSelfAttention"]


def causal_mask(T: int, device=None) -> torch.Tensor:
    """The boolean mask of positions a query may read: ``(T, T)``, True on and below the diagonal.

    Raises:
        ValueError: if ``T`` is not a positive int.
    """
    check_positive(T, "T", integer=True)
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def scaled_dot_product_attention(Q, K, V, causal: bool = True, scale: float | None = None):
    """``softmax(Q K^T * scale + M) V`` for every batch row and head (eq-attn-softmax).

    Args:
        Q, K, V: float tensors ``(..., T, d)`` with the same leading axes
            (e.g. ``(B, n_heads, T, d)``).
        causal: mask the future (``M`` = -inf above the diagonal).
        scale: multiplies the scores; default ``1 / sqrt(d)`` (eq-attn-scores).

    Returns:
        ``(out, A)``: the outputs ``(..., T, d)`` and the attention weights
        ``(..., T, T)``, each row of which sums to 1.

    Raises:
        ValueError: if the tensors are not float, disagree in shape, or
            ``scale`` is not a finite positive number.
    """
    for name, a in (("Q", Q), ("K", K), ("V", V)):
        if not isinstance(a, torch.Tensor) or a.ndim < 2 or not a.is_floating_point():
            raise ValueError(f"{name} must be a float tensor of shape (..., T, d); "
                             f"got {getattr(a, 'shape', type(a).__name__)}")
        if a.numel() == 0:
            raise ValueError(f"{name} must be non-empty; got shape {tuple(a.shape)}")
    if Q.shape != K.shape or Q.shape != V.shape:
        raise ValueError(f"Q, K and V must have the same shape (..., T, d); got "
                         f"{tuple(Q.shape)}, {tuple(K.shape)}, {tuple(V.shape)}")
    d = Q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else check_positive(scale, "scale")
    scores = Q @ K.transpose(-2, -1) * scale            # implements eq-attn-scores
    if causal:
        scores = scores.masked_fill(~causal_mask(Q.shape[-2], Q.device), float("-inf"))
    A = torch.softmax(scores, dim=-1)                   # implements eq-attn-softmax
    return A @ V, A


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with torch's parameter layout (eq-attn-multihead).

    ``Q, K, V = x W_q^T + b_q, x W_k^T + b_k, x W_v^T + b_v`` (stacked in
    ``in_proj_weight``/``in_proj_bias``), split into heads, attended
    (:func:`scaled_dot_product_attention`), concatenated and projected by
    ``out_proj``.

    Args:
        H: model width (> 0), divisible by ``n_heads``.
        n_heads: number of heads (> 0); ``n_heads=1`` is single-head attention.
        qk_norm: ``None``, ``"rms"`` (RMSNorm of each head's queries and keys,
            with learned gains) or ``"l2"`` (unit-length queries and keys and a
            learned scale ``g`` instead of ``1/sqrt(d)``: Henry et al. 2020).
        dtype: parameter dtype.

    Raises:
        ValueError: on a bad size, ``H`` not divisible by ``n_heads``, or an
            unknown ``qk_norm``.
    """

    def __init__(self, H: int, n_heads: int = 1, qk_norm: str | None = None,
                 dtype=torch.float32):
        super().__init__()
        check_positive(H, "H", integer=True)
        check_positive(n_heads, "n_heads", integer=True)
        if H % n_heads:
            raise ValueError(f"H must be divisible by n_heads; got H = {H}, n_heads = {n_heads}")
        if qk_norm is not None:
            check_choice(qk_norm, "qk_norm", {"rms", "l2"})
        self.H, self.n_heads, self.d, self.qk_norm = H, n_heads, H // n_heads, qk_norm
        self.in_proj_weight = nn.Parameter(torch.empty(3 * H, H, dtype=dtype))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * H, dtype=dtype))
        self.out_proj = nn.Linear(H, H, dtype=dtype)
        nn.init.xavier_uniform_(self.in_proj_weight)   # torch's initialization
        nn.init.zeros_(self.out_proj.bias)
        if qk_norm == "rms":
            self.q_gain = nn.Parameter(torch.ones(self.d, dtype=dtype))
            self.k_gain = nn.Parameter(torch.ones(self.d, dtype=dtype))
        elif qk_norm == "l2":
            # Henry et al. initialise g from the sequence length; sqrt(d) keeps
            # the logits' scale of plain attention at initialization.
            self.g = nn.Parameter(torch.tensor(math.sqrt(self.d), dtype=dtype))

    def _heads(self, a: torch.Tensor) -> torch.Tensor:
        B, T, _ = a.shape
        return a.view(B, T, self.n_heads, self.d).transpose(1, 2)   # (B, n_heads, T, d)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """Attend over ``x`` of shape ``(B, T, H)``; return ``(B, T, H)``
        (and the weights ``(B, n_heads, T, T)`` if ``return_weights``).

        Raises:
            ValueError: if ``x`` is not a float ``(B, T, H)`` tensor of this width.
        """
        check_tensor(x, "x", "(B, T, H)", dtype="float", sizes={"H": self.H})
        B, T, H = x.shape
        q, k, v = (self._heads(a) for a in F.linear(x, self.in_proj_weight,
                                                     self.in_proj_bias).split(H, dim=-1))
        scale = None
        if self.qk_norm == "rms":
            # implements eq-attn-qknorm: RMSNorm of each head's queries and keys
            q = q * torch.rsqrt(q.pow(2).mean(-1, keepdim=True) + 1e-6) * self.q_gain
            k = k * torch.rsqrt(k.pow(2).mean(-1, keepdim=True) + 1e-6) * self.k_gain
        elif self.qk_norm == "l2":
            q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
            q, scale = q * self.g, 1.0
        out, A = scaled_dot_product_attention(q, k, v, causal=True, scale=scale)
        out = self.out_proj(out.transpose(1, 2).reshape(B, T, H))
        return (out, A) if return_weights else out

    @classmethod
    def from_torch(cls, module: nn.MultiheadAttention) -> "CausalSelfAttention":
        """A copy of a batch-first ``torch.nn.MultiheadAttention`` (same dtype, weights copied).

        Raises:
            ValueError: if ``module`` is not a batch-first self-attention module
                with biases and equal query/key/value widths.
        """
        if not isinstance(module, nn.MultiheadAttention):
            raise ValueError(f"module must be a torch.nn.MultiheadAttention; "
                             f"got {type(module).__name__}")
        if (not module.batch_first or module.in_proj_weight is None
                or module.in_proj_bias is None or module.bias_k is not None):
            raise ValueError("module must be a torch.nn.MultiheadAttention with batch_first=True, "
                             "bias=True, add_bias_kv=False and equal kdim/vdim")
        layer = cls(module.embed_dim, module.num_heads, dtype=module.in_proj_weight.dtype)
        with torch.no_grad():
            layer.in_proj_weight.copy_(module.in_proj_weight)
            layer.in_proj_bias.copy_(module.in_proj_bias)
            layer.out_proj.weight.copy_(module.out_proj.weight)
            layer.out_proj.bias.copy_(module.out_proj.bias)
        return layer
