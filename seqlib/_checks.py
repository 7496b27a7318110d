"""Input validation shared by every seqlib function.

Each check raises one ``ValueError`` whose message names the argument, the
shape or range that was expected, and what arrived, e.g.::

    ValueError: X must have shape (B, T, D) (rank 3); got shape (4, 5)

Arrays may be NumPy arrays or torch tensors; the checks only read ``.shape``
and the dtype, so they cost nothing next to the computation they guard.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def _dims(spec: str) -> list[str]:
    """Split a shape spec like ``"(B, T, D)"`` into ``["B", "T", "D"]``."""
    inner = spec.strip().strip("()").strip()
    return [d.strip() for d in inner.split(",") if d.strip()]


def _is_float(x) -> bool:
    if isinstance(x, torch.Tensor):
        return x.is_floating_point()
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _is_int(x) -> bool:
    if isinstance(x, torch.Tensor):
        return not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool
    return np.issubdtype(np.asarray(x).dtype, np.integer)


def check_tensor(x, name: str, spec: str, dtype: str | None = None,
                 sizes: dict[str, int] | None = None) -> dict[str, int]:
    """Check rank, non-emptiness, dtype kind and named sizes of an array.

    Args:
        x: NumPy array or torch tensor.
        name: the argument's name, used in the error message.
        spec: the expected shape in the book's notation, e.g. ``"(B, T, D)"``;
            its number of names is the required rank.
        dtype: ``"float"``, ``"int"`` or ``None`` (any).
        sizes: sizes some names must have, e.g. ``{"D": 8}``.

    Returns:
        A dict from each name in ``spec`` to its size in ``x``, so callers can
        check that several arguments agree.

    Raises:
        ValueError: if ``x`` is not an array, has the wrong rank, an empty
            axis, the wrong dtype kind, or a size that disagrees with ``sizes``.
    """
    names = _dims(spec)
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise ValueError(f"{name} must be an array of shape {spec}; got {type(x).__name__}")
    shape = tuple(x.shape)
    if len(shape) != len(names):
        raise ValueError(f"{name} must have shape {spec} (rank {len(names)}); got shape {shape}")
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} must be non-empty with shape {spec}; got shape {shape}")
    if dtype == "float" and not _is_float(x):
        raise ValueError(f"{name} must be a floating-point array; got dtype {x.dtype}")
    if dtype == "int" and not _is_int(x):
        raise ValueError(f"{name} must be an integer array; got dtype {x.dtype}")
    found = dict(zip(names, shape))
    for key, want in (sizes or {}).items():
        if key in found and found[key] != want:
            raise ValueError(
                f"{name} must have {key} = {want} in shape {spec}; got shape {shape}")
    return found


def check_ids(ids, name: str, vocab_size: int) -> None:
    """Check that ``ids`` is a non-empty integer array with values in [0, V).

    Raises:
        ValueError: if ``ids`` is empty, not integer, or holds an id outside
            ``[0, vocab_size)``.
    """
    if not isinstance(ids, (np.ndarray, torch.Tensor)):
        raise ValueError(f"{name} must be an integer array of token ids; got {type(ids).__name__}")
    if ids.ndim == 0 or any(s == 0 for s in ids.shape):
        raise ValueError(f"{name} must be a non-empty array of token ids; got shape {tuple(ids.shape)}")
    if not _is_int(ids):
        raise ValueError(f"{name} must hold integer token ids; got dtype {ids.dtype}")
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(
            f"{name} must lie in [0, {vocab_size}) for a vocabulary of size V = {vocab_size}; "
            f"got values from {lo} to {hi}")


def check_positive(value, name: str, integer: bool = False, allow_zero: bool = False):
    """Check a scalar hyper-parameter is a positive (or non-negative) number.

    NaN and infinity are rejected: no hyper-parameter of the book (a step
    size, an epsilon, a clipping threshold, a temperature) means anything
    there, and NaN would slip through every comparison below.

    Raises:
        ValueError: if ``value`` is not a number (an int when ``integer``),
            is NaN or infinite, or is negative, or is zero while
            ``allow_zero`` is false.
    """
    kind = "integer" if integer else "number"
    ok_type = (isinstance(value, numbers.Integral) if integer
               else isinstance(value, numbers.Real))
    if isinstance(value, bool) or not ok_type:
        raise ValueError(f"{name} must be a {kind}; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite {kind}; got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a {kind} {bound}; got {value!r}")
    return value


#: Largest seed NumPy's legacy generator (``np.random.seed``) accepts.
MAX_SEED = 2**32 - 1


def check_seed(seed, name: str = "seed") -> int:
    """Check a random seed is an int in ``[0, 2**32 - 1]``, the range every
    generator the book seeds (Python, NumPy, torch) accepts.

    Raises:
        ValueError: if ``seed`` is not an int (bools and floats included) or
            lies outside that range.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{name} must be an int in [0, {MAX_SEED}]; got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be an int in [0, {MAX_SEED}]; got {seed!r}")
    return int(seed)


def check_choice(value, name: str, choices) -> None:
    """Check ``value`` is one of ``choices``.

    Raises:
        ValueError: naming the allowed values.
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
