"""The parameter layout the from-scratch LSTM and GRU layers share with torch.

``torch.nn.LSTM`` and ``torch.nn.GRU`` store a layer as four tensors: the
input weights of all gate blocks stacked, ``weight_ih_l0`` ``(blocks*H, D)``;
the recurrent weights stacked, ``weight_hh_l0`` ``(blocks*H, H)``; and two
biases ``bias_ih_l0``, ``bias_hh_l0`` ``(blocks*H,)`` (LSTM: 4 blocks i, f,
g, o; GRU: 3 blocks r, z, n). Keeping that layout makes copying weights
between our layers and torch's a plain assignment.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_positive, check_tensor

PARAM_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def copy_params(dst: nn.Module, values) -> None:
    """Copy four tensors (in ``PARAM_NAMES`` order) into ``dst``'s parameters."""
    with torch.no_grad():
        for name, value in zip(PARAM_NAMES, values, strict=True):
            getattr(dst, name).copy_(value)


class StackedGateLayer(nn.Module):
    """A one-layer recurrent module with torch's stacked-gate parameters.

    Subclasses set ``blocks`` and implement ``forward``. Parameters get
    torch's names, shapes and initialization, uniform on
    ``[-1/sqrt(H), 1/sqrt(H)]``, drawn in torch's order.

    Args:
        input_size: ``D`` (> 0).
        hidden_size: ``H`` (> 0).
        dtype: parameter dtype (a floating torch dtype).

    Raises:
        ValueError: for non-positive sizes or a non-float dtype.
    """

    blocks: int

    def __init__(self, input_size: int, hidden_size: int, dtype=torch.float64):
        super().__init__()
        check_positive(input_size, "input_size", integer=True)
        check_positive(hidden_size, "hidden_size", integer=True)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating torch dtype; got {dtype!r}")
        self.input_size, self.hidden_size = input_size, hidden_size
        n, D, k = self.blocks * hidden_size, input_size, 1.0 / math.sqrt(hidden_size)
        self.weight_ih_l0 = nn.Parameter(torch.empty(n, D, dtype=dtype).uniform_(-k, k))
        self.weight_hh_l0 = nn.Parameter(torch.empty(n, hidden_size, dtype=dtype).uniform_(-k, k))
        self.bias_ih_l0 = nn.Parameter(torch.empty(n, dtype=dtype).uniform_(-k, k))
        self.bias_hh_l0 = nn.Parameter(torch.empty(n, dtype=dtype).uniform_(-k, k))

    def params(self):
        """The four parameters, in ``PARAM_NAMES`` order (the layer functions' order)."""
        return tuple(getattr(self, name) for name in PARAM_NAMES)


def check_stacked_params(W_ih, W_hh, b_ih, b_hh, blocks: int, parts: str) -> tuple[int, int]:
    """Validate a layer's four parameter tensors in torch's stacked layout.

    Args:
        W_ih: ``(blocks*H, D)``; W_hh: ``(blocks*H, H)``; b_ih, b_hh: ``(blocks*H,)``.
        blocks: number of stacked blocks (LSTM 4, GRU 3).
        parts: the blocks' names for messages, e.g. ``"gates i, f, g, o"``.

    Returns:
        ``(D, H)``.

    Raises:
        ValueError: if a parameter is not a torch tensor, has the wrong shape,
            or the four do not share one dtype.
    """
    params = (("W_ih", W_ih), ("W_hh", W_hh), ("b_ih", b_ih), ("b_hh", b_hh))
    for name, p in params:
        if not isinstance(p, torch.Tensor):
            raise ValueError(f"{name} must be a torch tensor; got {type(p).__name__}")
    nH = f"{blocks}H"
    G, D = (check_tensor(W_ih, "W_ih", f"({nH}, D)", dtype="float")[k] for k in (nH, "D"))
    if G % blocks:
        raise ValueError(f"W_ih must have shape ({nH}, D) with a first size divisible by "
                         f"{blocks} ({parts}); got shape {tuple(W_ih.shape)}")
    H = G // blocks
    check_tensor(W_hh, "W_hh", f"({nH}, H)", dtype="float", sizes={nH: G, "H": H})
    check_tensor(b_ih, "b_ih", f"({nH},)", dtype="float", sizes={nH: G})
    check_tensor(b_hh, "b_hh", f"({nH},)", dtype="float", sizes={nH: G})
    for name, p in params[1:]:
        if p.dtype != W_ih.dtype:
            raise ValueError(f"all parameters must share one dtype; W_ih is {W_ih.dtype}, "
                             f"{name} is {p.dtype}")
    return D, H
