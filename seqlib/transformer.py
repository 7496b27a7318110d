"""Transformer blocks with attention, and the norm placements models use today (chapter 7).

A block has two residual sub-layers, causal self-attention then a
feed-forward network, and the *placement* says where the normalization goes
(eq-norm-post, eq-norm-pre, eq-place-peri, eq-place-deepnorm, eq-place-dyt),
for a sub-layer ``F``:

============  =========================================================  ==========================
placement     one sub-layer                                              source
============  =========================================================  ==========================
``post``      ``x <- Norm(x + F(x))``                                    Vaswani et al. 2017
``pre``       ``x <- x + F(Norm(x))``                                    Xiong et al. 2020, LLaMA
``peri``      ``x <- x + Norm_out(F(Norm_in(x)))`` (sandwich, Peri-LN)   Ding et al. 2021, Kim et al. 2025, Gemma 2
``deepnorm``  ``x <- LN(alpha x + F(x))``, branch weights scaled by beta  Wang et al. 2022
``dyt``       pre-norm with ``DyT(x) = gamma * tanh(a x) + beta``          Zhu et al. 2025
============  =========================================================  ==========================

QK-norm (Henry et al. 2020) is orthogonal to the placement: pass
``qk_norm="rms"`` to normalize each head's queries and keys
(:class:`seqlib.attention.CausalSelfAttention`).

Shapes are batch-first ``(B, T, H)``. :class:`TinyLM` wraps a stack of
blocks into a next-token model (embedding, blocks, final norm where the
placement needs one, tied or untied output layer) for the chapter's short
training runs.
"""
from __future__ import annotations

import torch
from torch import nn

from ._checks import check_choice, check_ids, check_positive, check_tensor
from .attention import CausalSelfAttention
from .norms import FeedForward, _make_norm

__all__ = ["PLACEMENTS", "DyT", "TransformerBlock", "TinyLM", "deepnorm_constants"]

#: The placements :class:`TransformerBlock` knows.
PLACEMENTS = ("post", "pre", "peri", "deepnorm", "dyt")


class DyT(nn.Module):
    """Dynamic tanh, ``gamma * tanh(a x) + beta`` (eq-place-dyt; Zhu et al. 2025).

    An element-wise stand-in for a normalization layer: no statistics over
    the features, one learnable scalar ``a`` (initialised to ``alpha0``) and a
    per-feature gain and shift.

    Args:
        H: width (> 0); alpha0: initial ``a`` (> 0; the paper uses 0.5).
    """

    def __init__(self, H: int, alpha0: float = 0.5):
        super().__init__()
        check_positive(H, "H", integer=True)
        check_positive(alpha0, "alpha0")
        self.alpha = nn.Parameter(torch.tensor(float(alpha0)))
        self.weight = nn.Parameter(torch.ones(H))
        self.bias = nn.Parameter(torch.zeros(H))

    def forward(self, x):
        return self.weight * torch.tanh(self.alpha * x) + self.bias


def deepnorm_constants(L: int) -> tuple[float, float]:
    """DeepNorm's ``(alpha, beta)`` for a decoder of ``L`` blocks: ``((2L)^(1/4), (8L)^(-1/4))``.

    (Wang et al. 2022, for decoder-only models; ``L`` counts blocks, each of
    two sub-layers.)
    """
    check_positive(L, "L", integer=True)
    return (2 * L) ** 0.25, (8 * L) ** -0.25


class TransformerBlock(nn.Module):
    """Causal self-attention and feed-forward sub-layers, each with a residual path.

    Args:
        H: model width (> 0); n_heads: attention heads (H divisible by it);
        d_ff: feed-forward width (> 0).
        placement: one of :data:`PLACEMENTS`.
        norm: ``"layer"`` or ``"rms"`` (ignored by ``"dyt"``; ``"deepnorm"``
            uses LayerNorm as the paper does).
        qk_norm: None or ``"rms"``/``"l2"`` (see :mod:`seqlib.attention`).
        n_blocks: depth of the whole stack (DeepNorm's constants depend on it).
        impl: ``"seqlib"`` (the from-scratch norms of :mod:`seqlib.norms`) or
            ``"torch"`` (``torch.nn.LayerNorm``/``RMSNorm``: the same function
            in one fused kernel, faster for training runs).

    Raises:
        ValueError: on a bad size or an unknown option.
    """

    def __init__(self, H: int, n_heads: int, d_ff: int, placement: str = "pre",
                 norm: str = "layer", qk_norm: str | None = None, n_blocks: int = 1,
                 impl: str = "seqlib"):
        super().__init__()
        check_choice(placement, "placement", set(PLACEMENTS))
        check_choice(norm, "norm", {"layer", "rms"})
        check_choice(impl, "impl", {"seqlib", "torch"})
        check_positive(n_blocks, "n_blocks", integer=True)
        self.placement = placement
        self.attn = CausalSelfAttention(H, n_heads, qk_norm=qk_norm)
        self.ff = FeedForward(H, d_ff)
        if placement == "dyt":
            make = lambda: DyT(H)  # noqa: E731
        elif placement == "deepnorm":
            make = lambda: _make_norm("layer", H, impl)  # noqa: E731
        else:
            make = lambda: _make_norm(norm, H, impl)  # noqa: E731
        self.norm1, self.norm2 = make(), make()
        if placement == "peri":
            self.norm1_out, self.norm2_out = make(), make()
        self.alpha = 1.0
        if placement == "deepnorm":
            self.alpha, beta = deepnorm_constants(n_blocks)
            with torch.no_grad():   # scale the value, output and feed-forward weights by beta
                H_ = self.attn.H
                self.attn.in_proj_weight[2 * H_:].mul_(beta)
                self.attn.out_proj.weight.mul_(beta)
                self.ff.fc1.weight.mul_(beta)
                self.ff.fc2.weight.mul_(beta)

    def _sublayer(self, x, F, norm, norm_out=None):
        p = self.placement
        if p == "post":
            return norm(x + F(x))                          # implements eq-norm-post
        if p == "deepnorm":
            return norm(self.alpha * x + F(x))             # implements eq-place-deepnorm
        if p == "peri":
            return x + norm_out(F(norm(x)))                # implements eq-place-peri
        return x + F(norm(x))                              # pre and dyt: eq-norm-pre

    def forward(self, x):
        """``x``: ``(B, T, H)``; returns the same shape."""
        x = self._sublayer(x, self.attn, self.norm1, getattr(self, "norm1_out", None))
        return self._sublayer(x, self.ff, self.norm2, getattr(self, "norm2_out", None))

    def branch_weights(self) -> list[torch.Tensor]:
        """The weight matrices of both sub-layers (for per-block gradient norms)."""
        return [self.attn.in_proj_weight, self.attn.out_proj.weight,
                self.ff.fc1.weight, self.ff.fc2.weight]


class TinyLM(nn.Module):
    """A small causal language model: embedding, ``L`` blocks, optional final norm, output layer.

    Pre-norm-style placements (``pre``, ``peri``, ``dyt``) end with a final
    norm (their residual stream is never normalized otherwise); ``post`` and
    ``deepnorm`` outputs already are. ``tie=True`` reuses the embedding
    matrix as the output layer (Press & Wolf 2017).

    Args:
        V: vocabulary size; T_max: longest sequence (learned positions);
        H, n_heads, d_ff, L: sizes; placement, norm, qk_norm: see
        :class:`TransformerBlock`; tie: share embedding and output weights;
        seed: initialisation seed; impl: ``"seqlib"`` or ``"torch"`` norms
        (see :class:`TransformerBlock`).
    """

    def __init__(self, V: int, T_max: int, H: int = 32, n_heads: int = 2, d_ff: int = 64,
                 L: int = 2, placement: str = "pre", norm: str = "layer",
                 qk_norm: str | None = None, tie: bool = False, seed: int = 0,
                 impl: str = "seqlib"):
        super().__init__()
        for name, value in (("V", V), ("T_max", T_max), ("L", L)):
            check_positive(value, name, integer=True)
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            self.V, self.T_max = V, T_max
            self.embed = nn.Embedding(V, H)
            self.pos = nn.Parameter(0.02 * torch.randn(T_max, H))
            self.blocks = nn.ModuleList(
                TransformerBlock(H, n_heads, d_ff, placement, norm, qk_norm, n_blocks=L,
                                 impl=impl)
                for _ in range(L))
            self.final_norm = (DyT(H) if placement == "dyt" else _make_norm(norm, H, impl)) \
                if placement in ("pre", "peri", "dyt") else nn.Identity()
            self.head = nn.Linear(H, V, bias=False)
            if tie:
                self.head.weight = self.embed.weight
        finally:
            torch.random.set_rng_state(gen_state)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, V)`` for integer ids ``(B, T)`` with ``T <= T_max``.

        Raises:
            ValueError: on non-integer or out-of-range ids or a too-long sequence.
        """
        check_tensor(ids, "ids", "(B, T)", dtype="int")
        check_ids(ids, "ids", self.V)
        if ids.shape[1] > self.T_max:
            raise ValueError(f"ids must have T <= T_max = {self.T_max}; got T = {ids.shape[1]}")
        x = self.embed(ids) + self.pos[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.final_norm(x))

    def num_parameters(self) -> int:
        """Distinct parameters (a tied matrix counts once)."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())
