"""One plotting style for every figure in the book.

Figures are PNG (nbval skips PNG outputs; it would compare SVG byte by byte)
with English labels, so no CJK font is needed.
"""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt

#: One colour per category, reused across chapters so "RNN" or "LSTM" keeps
#: its colour from figure to figure.
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]


def use_book_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a notebook)."""
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "font.size": 10,
        "legend.frameon": False,
    })


def labelled_scatter(ax, points, labels, groups=None, title=None):
    """Scatter 2-D points and write each label beside its point.

    Args:
        ax: a matplotlib Axes.
        points: array of shape ``(n, 2)``.
        labels: ``n`` strings.
        groups: optional ``n`` group names; each group gets one colour and a
            legend entry.
        title: optional axes title.

    Raises:
        ValueError: if ``points`` is not ``(n, 2)`` or the lengths disagree.
    """
    import numpy as np
    from ._checks import check_tensor
    points = np.asarray(points)
    # The spec's second name is the literal "2", so sizes pins that axis.
    n = check_tensor(points, "points", "(n, 2)", sizes={"2": 2})["n"]
    if len(labels) != n or (groups is not None and len(groups) != n):
        raise ValueError(f"labels and groups must have {n} entries, one per point")
    groups = list(groups) if groups is not None else [""] * n
    for k, g in enumerate(dict.fromkeys(groups)):
        idx = [i for i in range(n) if groups[i] == g]
        ax.scatter(points[idx, 0], points[idx, 1], color=PALETTE[k % len(PALETTE)],
                   label=g or None, s=28)
    for (x, y), text in zip(points, labels):
        ax.annotate(text, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8)
    if any(groups):
        ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return ax
